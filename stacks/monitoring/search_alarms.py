"""Alarms on the OpenSearch domain: AWS's recommended set for OpenSearch Service domains.

Source: Amazon OpenSearch Service developer guide, "Recommended CloudWatch alarms for Amazon
OpenSearch Service" (statistic, period and consecutive periods of each alarm below are that
page's, thresholds come from `SearchAlarmThresholds`). Metrics are in `AWS/ES` with the
dimensions DomainName and ClientId (the account), which CDK's `IDomain.metric` sets, for a
created and for an imported domain alike.

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
from stacks.monitoring.alarm_factory import AlarmFactory

Compare = cloudwatch.ComparisonOperator
Missing = cloudwatch.TreatMissingData
MIB_PER_GIB = 1024


def free_storage_threshold_mib(*, volume_size_gib: int, percent: float) -> float:
    """FreeStorageSpace is reported in MiB per node; the alarm fires at `percent` of a volume."""
    return volume_size_gib * MIB_PER_GIB * percent / 100


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

        def metric(name: str, statistic: str, minutes: int = 1) -> cloudwatch.Metric:
            return domain.metric(name, statistic=statistic, period=Duration.minutes(minutes))

        def alarm(short: str, topic: sns.ITopic, m: cloudwatch.IMetric, **kwargs) -> None:
            # The domain publishes every minute while it exists: a gap is CloudWatch's or the
            # domain's, and the workers' own alarms (paused, silent) watch the work meanwhile.
            factory.add(self, short, topic, m, missing=Missing.NOT_BREACHING, **kwargs)

        alarm("search-cluster-red", critical, metric("ClusterStatus.red", "Maximum"),
              threshold=1, comparison=Compare.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
              evaluation_periods=1,
              what="A primary shard of the search domain is unassigned (cluster red): "
                   "indexing into it fails.",
              first="Check the domain's health in the console; the workers pause and resume "
                    "by themselves.")
        if settings.cluster_yellow_alarm:
            alarm("search-cluster-yellow", warning, metric("ClusterStatus.yellow", "Maximum"),
                  threshold=1, comparison=Compare.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                  evaluation_periods=5,
                  what="A replica shard of the search domain has been unassigned for 5 min "
                       "(cluster yellow): one more node failure can lose data.",
                  first="Check node count and free storage; a replica needs a second data node.")
        alarm("search-writes-blocked", critical,
              metric("ClusterIndexWritesBlocked", "Maximum", minutes=5),
              threshold=1, comparison=Compare.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
              evaluation_periods=1,
              what="The search domain blocks writes (ClusterIndexWritesBlocked): no file can be "
                   "indexed; the workers pause and the messages wait in the queue.",
              first="Usually storage or JVM memory: check FreeStorageSpace and "
                    "JVMMemoryPressure, then add storage or scale the domain.")
        if not search.imported:
            mib = free_storage_threshold_mib(volume_size_gib=search.volume_size_gib,
                                             percent=settings.free_storage_percent)
            alarm("search-free-storage", warning, metric("FreeStorageSpace", "Minimum"),
                  threshold=mib, comparison=Compare.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
                  evaluation_periods=1,
                  what=f"A search node has {mib:.0f} MiB or less free "
                       f"({settings.free_storage_percent:g} % of its {search.volume_size_gib} GiB "
                       "volume); writes are blocked when it runs out.",
                  first="Raise search.volume_size_gib or delete old documents before writes "
                        "are blocked.")
        alarm("search-jvm-pressure", warning, metric("JVMMemoryPressure", "Maximum"),
              threshold=settings.jvm_memory_pressure_percent,
              comparison=Compare.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
              evaluation_periods=settings.jvm_memory_pressure_minutes,
              what=f"JVM memory pressure at or above {settings.jvm_memory_pressure_percent:g} % "
                   f"for {settings.jvm_memory_pressure_minutes} min: the domain may reject "
                   "requests or fail with out-of-memory errors.",
              first="Scale the data nodes up; look for large bulk requests.")
        alarm("search-cpu", warning, metric("CPUUtilization", "Maximum",
                                            minutes=settings.cpu_period_minutes),
              threshold=settings.cpu_percent, comparison=Compare.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
              evaluation_periods=settings.cpu_periods,
              what=f"Search CPU at or above {settings.cpu_percent:g} % for "
                   f"{settings.cpu_period_minutes * settings.cpu_periods} min: sustained load, "
                   "not a burst.",
              first="Use a larger instance type or more data nodes.")
        if not search.imported and search.master_node_count:
            # The page gives one day; a lost master is urgent for ingestion, so 5 minutes
            # (long enough for a master election to finish).
            alarm("search-master-unreachable", critical,
                  metric("MasterReachableFromNode", "Maximum"),
                  threshold=1, comparison=Compare.LESS_THAN_THRESHOLD, evaluation_periods=5,
                  what="The search domain's master node has been unreachable for 5 min: the "
                       "cluster cannot change state.",
                  first="Check the dedicated masters' health; contact AWS support if it persists.")
        alarm("search-snapshot-failed", warning,
              metric("AutomatedSnapshotFailure", "Maximum"),
              threshold=1, comparison=Compare.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
              evaluation_periods=1,
              what="The domain's automated snapshot failed (usually because the cluster is red): "
                   "no recent restore point.",
              first="Fix the cluster status first; snapshots resume by themselves.")
        alarm("search-write-rejected", warning, metric("ThreadpoolWriteRejected", "Sum"),
              threshold=1, comparison=Compare.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
              evaluation_periods=1,
              what="The domain rejected bulk writes (write thread pool full); the workers "
                   "retry them, but persistent rejections delay indexing.",
              first="Check CPU and JVM pressure; lower the workers' concurrency or scale the "
                    "domain.")
