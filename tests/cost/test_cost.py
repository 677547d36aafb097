"""The cost estimator: exact arithmetic on a hand-built template with a hand-made price table,
clear errors, and sane figures for the real synthesized environments."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from contract.assembly import StackTemplate, read_stacks
from contract.synth import REPO
from tools.cost import (
    DOC_BEGIN,
    DOC_END,
    DOC_FILE,
    PRICES_FILE,
    CostError,
    PriceTable,
    cost_lines,
    estimate,
    estimate_all,
    main,
    render_doc,
    update_doc,
)

# Round numbers so that every figure below can be checked by hand (100 h/month).
PRICES = """
[meta]
region = "us-east-1"
currency = "USD"
prices_as_of = "2025-06"
recorded_on = "2026-11-23"
source = "test"
hours_per_month = 100

[ec2_instance_hour]
"t3.small" = 0.02
[ebs_gb_month]
gp3 = 0.1
[ec2_detailed_monitoring]
per_instance_month = 2.0
[vpc_endpoint]
interface_az_hour = 0.01
[opensearch_instance_hour]
"t3.medium.search" = 0.1
"m6g.large.search" = 0.2
[opensearch_storage_gb_month]
gp3 = 0.5
[kms]
key_month = 1.0
[cloudwatch]
alarm_metric_month = 0.1
dashboard_month = 3.0
log_ingestion_gb = 0.5
[sqs]
requests_per_million = 0.4

[usage.default]
messages_per_second = 10.0
log_gb_per_month = 4.0
sqs_requests_per_message = 1.5
idle_receives_per_instance_hour = 360
[usage.dev]
log_gb_per_month = 2.0
"""


@pytest.fixture
def prices(tmp_path) -> PriceTable:
    path = tmp_path / "prices.toml"
    path.write_text(PRICES)
    return PriceTable.load(path)


def endpoint(kind: str, subnets: int) -> dict:
    properties = {"VpcEndpointType": kind, "ServiceName": "com.amazonaws.us-east-1.sqs"}
    if kind == "Interface":
        properties["SubnetIds"] = [{"Ref": f"Subnet{i}"} for i in range(subnets)]
    return {"Type": "AWS::EC2::VPCEndpoint", "Properties": properties}


def alarm(metric_stats: int, expressions: int = 0) -> dict:
    if metric_stats == 0:
        return {"Type": "AWS::CloudWatch::Alarm", "Properties": {"MetricName": "Depth"}}
    metrics = [{"Id": f"m{i}", "MetricStat": {}} for i in range(metric_stats)]
    metrics += [{"Id": f"e{i}", "Expression": "m0 + m1"} for i in range(expressions)]
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Metrics": metrics}}


def miniature_environment() -> list[StackTemplate]:
    """An environment like the app's, small: two stacks, every priced resource type."""
    network_and_fleet = {"Resources": {
        "LaunchTemplate": {"Type": "AWS::EC2::LaunchTemplate", "Properties": {"LaunchTemplateData": {
            "InstanceType": "t3.small", "Monitoring": {"Enabled": True},
            "BlockDeviceMappings": [{"DeviceName": "/dev/xvda",
                                     "Ebs": {"VolumeSize": 20, "VolumeType": "gp3"}}]}}},
        "Group": {"Type": "AWS::AutoScaling::AutoScalingGroup", "Properties": {
            "MinSize": "1", "MaxSize": "3",
            "LaunchTemplate": {"LaunchTemplateId": {"Ref": "LaunchTemplate"}, "Version": "1"}}},
        "Sqs": endpoint("Interface", 2),
        "Logs": endpoint("Interface", 2),
        "Kms": endpoint("Interface", 1),
        "S3": endpoint("Gateway", 0),
        "Alarm1": alarm(0),
        "Alarm2": alarm(2, expressions=1),
        "Dashboard": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {}},
    }}
    stateful = {"Resources": {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Key1": {"Type": "AWS::KMS::Key", "Properties": {}},
        "Key2": {"Type": "AWS::KMS::Key", "Properties": {}},
        "Domain": {"Type": "AWS::OpenSearchService::Domain", "Properties": {
            "ClusterConfig": {"InstanceCount": 2, "InstanceType": "t3.medium.search",
                              "DedicatedMasterEnabled": True, "DedicatedMasterCount": 3,
                              "DedicatedMasterType": "m6g.large.search"},
            "EBSOptions": {"EBSEnabled": True, "VolumeSize": 10, "VolumeType": "gp3"}}},
    }}
    return [StackTemplate("dev/Fleet", "file-search-dev-fleet", Path("f.json"), network_and_fleet),
            StackTemplate("dev/Stateful", "file-search-dev-stateful", Path("s.json"), stateful)]


def test_every_line_item_by_hand(prices):
    result = estimate("dev", miniature_environment(), prices)
    items = {item.name: item for item in result.items}
    # Per instance: 0.02 x 100 h + 20 GiB x 0.1 + 2.0 monitoring = 6.0
    assert (items["fleet"].at_min, items["fleet"].at_max) == pytest.approx((6.0, 18.0))
    assert items["fleet"].detail == "1-3 x t3.small, 20 GiB gp3, detailed monitoring"
    # 2 + 2 + 1 endpoint-AZs x 0.01 x 100 h; the gateway endpoint is free
    assert items["interface endpoints"].at_min == pytest.approx(5.0)
    assert items["interface endpoints"].detail == "3 endpoints in 5 endpoint-AZs"
    # 2 x 0.1 x 100 + 3 x 0.2 x 100 + 2 nodes x 10 GiB x 0.5
    assert items["search domain"].at_min == pytest.approx(20 + 60 + 10)
    assert items["KMS keys"].at_min == pytest.approx(2.0)
    # One plain alarm (1 metric) and one metric-math alarm over 2 metrics: 3 metrics
    assert items["alarms"].at_min == pytest.approx(0.3)
    assert items["alarms"].detail == "2 alarm(s), 3 metric(s)"
    assert items["dashboards"].at_min == pytest.approx(3.0)
    # dev overrides the default log volume: 2 GB x 0.5
    assert items["log ingestion"].at_min == pytest.approx(1.0) and items["log ingestion"].assumed
    # 10 msg/s x 360,000 s x 1.5 = 5.4 M requests; idle polls 360 x 100 h per instance
    messages = 10 * 100 * 3600 * 1.5
    assert items["SQS requests"].at_min == pytest.approx((messages + 1 * 36_000) / 1e6 * 0.4)
    assert items["SQS requests"].at_max == pytest.approx((messages + 3 * 36_000) / 1e6 * 0.4)
    assert result.at_min == pytest.approx(sum(i.at_min for i in result.items))
    assert result.at_max - result.at_min == pytest.approx(12.0 + 2 * 36_000 / 1e6 * 0.4)


def test_unknown_instance_type_names_the_type_and_the_table(prices):
    stacks = miniature_environment()
    template = copy.deepcopy(stacks[0].template)
    template["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["InstanceType"] = "m7g.large"
    with pytest.raises(CostError, match=r"no price for EC2 instance type 'm7g.large' in prices.toml "
                                        r"\[ec2_instance_hour\]"):
        estimate("dev", [StackTemplate("dev/Fleet", "x", Path("x"), template)], prices)


def test_a_value_that_is_not_in_the_template_is_named(prices):
    template = copy.deepcopy(miniature_environment()[1].template)
    template["Resources"]["Domain"]["Properties"]["ClusterConfig"]["InstanceType"] = {"Ref": "NodeType"}
    with pytest.raises(CostError, match="dev/Stateful Domain: ClusterConfig.InstanceType is not a literal"):
        estimate("dev", [StackTemplate("dev/Stateful", "x", Path("x"), template)], prices)


def test_price_table_without_its_date_is_refused(tmp_path):
    path = tmp_path / "prices.toml"
    path.write_text(PRICES.replace('prices_as_of = "2025-06"\n', ""))
    with pytest.raises(CostError, match=r"\[meta\] lacks 'prices_as_of'"):
        PriceTable.load(path)


def test_cost_lines_show_before_after_and_delta(prices):
    before = {"dev": estimate("dev", miniature_environment(), prices)}
    cheaper = miniature_environment()
    cheaper[0].template["Resources"]["Group"]["Properties"]["MinSize"] = "0"
    after = {"dev": estimate("dev", cheaper, prices),
             "qa": estimate("qa", miniature_environment(), prices)}
    lines = cost_lines(before, after)
    old, new = before["dev"], after["dev"]
    assert lines[0] == (f"- `dev`: ${old.at_min:,.2f} → ${new.at_min:,.2f} (−$6.01) with the fleet "
                        f"at min; ${old.at_max:,.2f} → ${new.at_max:,.2f} (±$0.00) at max")
    assert lines[1].startswith("- `qa` (new): ")
    assert cost_lines(after, {"qa": after["qa"]})[-1].startswith("- `dev` (removed): ")


def test_the_shipped_price_table_is_dated_and_prices_the_app(synthesized):
    prices = PriceTable.load(PRICES_FILE)
    assert prices.meta("region") == "us-east-1" and prices.meta("currency") == "USD"
    estimates = estimate_all(read_stacks(synthesized.outdir), prices)
    assert list(estimates) == ["dev", "staging", "prod"]
    dev, staging, prod = estimates.values()
    assert dev.at_min < staging.at_min < prod.at_min
    assert dev.at_max < staging.at_max < prod.at_max
    for env in estimates.values():
        names = [item.name for item in env.items]
        assert names == ["fleet", "interface endpoints", "search domain", "KMS keys", "alarms",
                         "dashboards", "log ingestion", "SQS requests"]
        assert all(item.at_max >= item.at_min >= 0 for item in env.items)
        fleet = env.items[0]
        assert fleet.at_max > fleet.at_min, "the fleet can grow, so max must cost more"
    # Sanity bounds: a small pipeline, not free and not thousands of dollars in dev.
    assert 10 < dev.at_min < 500 and prod.at_max < 10_000


def test_cli_prints_every_environment_and_refuses_an_unknown_one(synthesized, capsys):
    assert main(["--assembly", str(synthesized.outdir)]) == 0
    out = capsys.readouterr().out
    assert "prices as of 2025-06" in out and "check them against the AWS pricing pages" in out
    for env in ("dev", "staging", "prod"):
        assert f"\n{env} " in out
    assert main(["--assembly", str(synthesized.outdir), "--env", "qa"]) == 2
    assert "no environment 'qa'" in capsys.readouterr().err
    assert main(["--assembly", str(synthesized.outdir), "--env", "dev",
                 "--messages-per-second", "100"]) == 0
    assert "100 msg/s" in capsys.readouterr().out


def test_the_documented_estimate_is_what_make_cost_writes(synthesized):
    """docs/environments.md's figures are generated: a changed price or template fails here
    until `make cost` rewrites them."""
    prices = PriceTable.load(PRICES_FILE)
    block = render_doc(estimate_all(read_stacks(synthesized.outdir), prices), prices)
    text = DOC_FILE.read_text()
    assert text.count(DOC_BEGIN) == 1 and text.count(DOC_END) == 1
    documented = text[text.index(DOC_BEGIN) + len(DOC_BEGIN) + 1:text.index(DOC_END)]
    assert documented == block, "docs/environments.md's estimate is stale: run `make cost`"
    assert "| fleet at min – at max | $" in block and "- interface endpoints (9 x 1 AZ): $" in block


def test_no_doc_states_a_price_outside_the_generated_block():
    """A dollar figure typed into a doc goes stale unseen (issue #19)."""
    docs = [*REPO.glob("*.md"), *(REPO / "docs").glob("*.md"), *(REPO / "worker_asset").glob("*.md")]
    for doc in docs:
        text = doc.read_text()
        if doc == DOC_FILE:
            text = text[:text.index(DOC_BEGIN)] + text[text.index(DOC_END):]
        found = re.findall(r".{0,30}\$\d.{0,20}", text)
        assert not found, f"{doc.relative_to(REPO)} states a price by hand: {found}"


def test_update_doc_rewrites_only_the_block_and_needs_the_markers(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text(f"before\n{DOC_BEGIN}\nold\n{DOC_END}\nafter\n")
    assert update_doc(doc, "new\n") is True
    assert doc.read_text() == f"before\n{DOC_BEGIN}\nnew\n{DOC_END}\nafter\n"
    assert update_doc(doc, "new\n") is False
    doc.write_text("no block\n")
    with pytest.raises(CostError, match="has no .* block to write the estimate into"):
        update_doc(doc, "new\n")


def test_update_doc_refuses_a_partial_estimate(synthesized, capsys):
    assert main(["--assembly", str(synthesized.outdir), "--env", "dev", "--update-doc"]) == 2
    assert "--update-doc writes the default estimate of every environment" in capsys.readouterr().err
