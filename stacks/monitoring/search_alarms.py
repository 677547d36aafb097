"""Alarms on the OpenSearch domain: AWS's recommended set for OpenSearch Service domains.

Source: Amazon OpenSearch Service developer guide, "Recommended CloudWatch alarms for Amazon
OpenSearch Service" (statistic, period and consecutive periods of each alarm are that page's,
thresholds come from `SearchAlarmThresholds`). The alarms are the rows of
`alarm_table.search_alarms`. Metrics are in `AWS/ES` with the dimensions DomainName and
ClientId (the account), which CDK's `IDomain.metric` sets, for a created and for an imported
domain alike.

An imported domain (search.existing_domain_*) gets every alarm whose meaning does not depend on
its size: its volume size and its master nodes are unknown here, so FreeStorageSpace (whose
threshold is a share of the volume) and MasterReachableFromNode are left out for it.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import aws_sns as sns
from constructs import Construct

from config import SearchAlarmThresholds, SearchConfig
from stacks.monitoring import alarm_table
from stacks.monitoring.alarm_factory import AlarmFactory
from stacks.monitoring.alarm_table import DOMAIN, Metric


class SearchDomainAlarms(Construct):
    """The domain's health, storage, memory, CPU, masters, snapshots and write rejections."""

    def __init__(
        self, scope: Construct, construct_id: str, *,
        domain: opensearch.IDomain,
        search: SearchConfig,
        settings: SearchAlarmThresholds,
        factory: AlarmFactory,
        critical: sns.ITopic,
        warning: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)

        def metric(m: Metric) -> cloudwatch.IMetric:
            if m.source != DOMAIN:
                raise ValueError(f"search alarms: metric {m.name} of {m.source!r}, not the domain")
            return domain.metric(m.name, statistic=m.statistic, period=Duration.seconds(m.period),
                                 label=m.label)

        factory.add_rows(self, alarm_table.search_alarms(search, settings),
                         critical=critical, warning=warning, metric=metric)
