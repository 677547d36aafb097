"""Environments that name their account and region (issue #18), all three in one account:
explicit availability zones (`network.availability_zones`), synthesized with zones that are not
the region's first two, so that `Fn::GetAZs` or a lookup's "first N" cannot pass by accident;
and one OpenSearch log resource policy for the account (tests at the end)."""

from __future__ import annotations

import dataclasses
import json
from fnmatch import fnmatchcase

import pytest

from config import ConfigError, EnvironmentConfig, ExistingVpc, NetworkConfig
from config.accounts import log_policy_problems
from environments import ENVIRONMENTS
from stacks.ingestion_stage import compose_app
from tests.support.cdk_app import new_app
from tests.support.templates import only_resource, rendered, resources_of_type

ACCOUNT, REGION = "123456789012", "eu-west-1"
ZONES = ("eu-west-1c", "eu-west-1b")


def targeted(env: str) -> EnvironmentConfig:
    """`env` in the shared account and region; staging and prod use dev's log resource policy,
    as `config.accounts.log_policy_problems` demands of environments in one account."""
    config = ENVIRONMENTS[env]
    owner = None if env == "dev" else "dev"
    return dataclasses.replace(config, account=ACCOUNT, region=REGION,
                               network=dataclasses.replace(config.network, availability_zones=ZONES),
                               search=dataclasses.replace(config.search, log_policy_owner=owner))


@pytest.fixture(scope="module")
def synthesized_with_zones(tmp_path_factory):
    """Every environment with account, region and zones, in one app with every synthesis check."""
    outdir = tmp_path_factory.mktemp("zones")
    app = new_app(outdir)
    stages = compose_app(app, [targeted(env) for env in ENVIRONMENTS])
    app.synth()  # cdk-nag, Control Tower and CloudFormation's own validation pass for this shape
    templates = {}
    for env, stage in stages.items():
        assembly = stage.synth()
        templates[env] = {s.node.id: assembly.get_stack_by_name(s.stack_name).template
                          for s in (stage.network, stage.search, stage.fleet)}
    return outdir, templates


def subnet_zones(network: dict) -> dict[str, str]:
    """Logical id of each subnet -> its zone (a literal: no Fn::GetAZs)."""
    return {lid: r["Properties"]["AvailabilityZone"]
            for lid, r in resources_of_type(network, "AWS::EC2::Subnet").items()}


def test_the_vpc_spans_exactly_the_configured_zones(synthesized_with_zones, env):
    templates = synthesized_with_zones[1][env]
    assert sorted(subnet_zones(templates["Network"]).values()) == sorted(ZONES)
    for stack, template in templates.items():
        assert "Fn::GetAZs" not in json.dumps(template), f"{env}/{stack} still asks for the region's zones"


def test_interface_endpoints_sit_only_in_the_configured_zones(synthesized_with_zones, env):
    templates = synthesized_with_zones[1][env]
    zones = subnet_zones(templates["Network"])
    endpoints = [r["Properties"] for r in resources_of_type(templates["Network"], "AWS::EC2::VPCEndpoint").values()
                 if r["Properties"].get("VpcEndpointType") == "Interface"]
    assert endpoints
    # dev puts them in its first zone only (network.interface_endpoint_azs=1): the first configured.
    wanted = ZONES[:ENVIRONMENTS[env].network.interface_endpoint_azs or len(ZONES)]
    for props in endpoints:
        assert [zones[subnet["Ref"]] for subnet in props["SubnetIds"]] == list(wanted)


def test_domain_and_workers_use_the_configured_zones(synthesized_with_zones, env):
    templates = synthesized_with_zones[1][env]
    _, group = only_resource(templates["Fleet"], "AWS::AutoScaling::AutoScalingGroup")
    assert sorted(group["Properties"]["AvailabilityZones"]) == sorted(ZONES)
    _, domain = only_resource(templates["Search"], "AWS::OpenSearchService::Domain")
    assert len(domain["Properties"]["VPCOptions"]["SubnetIds"]) == ENVIRONMENTS[env].search.availability_zone_count


def test_synthesis_stays_offline_and_clean(synthesized_with_zones):
    """No context lookup is left for the CLI (it would need credentials to synthesize), and the
    hard-coded zones are the one acknowledged finding of CloudFormation's validation (W3010)."""
    outdir, _ = synthesized_with_zones
    for manifest in outdir.glob("**/manifest.json"):
        assert "missing" not in json.loads(manifest.read_text()), manifest
    report = json.loads((outdir / "validation-report.json").read_text())
    assert [p for p in report["pluginReports"] if p.get("conclusion") == "failure"] == []
    acknowledged = [json.loads(m.read_text()) for m in outdir.glob("assembly-*/*Network*.metadata.json")]
    assert len(acknowledged) == 3
    assert all("CloudFormation-Validate::W3010" in json.dumps(m) for m in acknowledged)


# --- configuration -----------------------------------------------------------------------------

def test_zones_are_required_when_account_and_region_are_set():
    with pytest.raises(ConfigError, match=r"qa\.network\.availability_zones = None: must name the VPC's "
                                          r"zones in eu-west-1 when account and region are set"):
        EnvironmentConfig(name="qa", account=ACCOUNT, region=REGION, search=ENVIRONMENTS["dev"].search)
    # An existing VPC brings its own zones.
    EnvironmentConfig(name="qa", account=ACCOUNT, region=REGION, search=ENVIRONMENTS["dev"].search,
                      network=NetworkConfig(existing_vpc=ExistingVpc(
                          vpc_id="vpc-0123456789abcdef0", availability_zones=ZONES,
                          isolated_subnet_ids=("subnet-0a", "subnet-0b"),
                          isolated_subnet_route_table_ids=("rtb-0a", "rtb-0b"), vpc_cidr_block="10.9.0.0/16")))


@pytest.mark.parametrize(("zones", "account", "why"), [
    (ZONES, None, "needs account and region"),
    (("eu-west-1a", "us-east-1b"), ACCOUNT, r"'us-east-1b' not in region eu-west-1"),
    (("eu-west-1a",), ACCOUNT, "must be a tuple of at least two different AZ names"),
    (("eu-west-1a", "eu-west-1a"), ACCOUNT, "must be a tuple of at least two different AZ names"),
    ("eu-west-1a", ACCOUNT, "must be a tuple of at least two different AZ names"),
    (("euw1-az1", "euw1-az2"), ACCOUNT, "must be AZ names like 'eu-west-1a'"),
])
def test_bad_zones_are_refused_naming_the_field(zones, account, why):
    with pytest.raises(ConfigError, match=r"qa\.network\.availability_zones = .*" + why):
        EnvironmentConfig(name="qa", account=account, region=REGION if account else None,
                          search=ENVIRONMENTS["dev"].search, network=NetworkConfig(availability_zones=zones))


def test_the_domain_cannot_span_more_zones_than_the_vpc():
    search = dataclasses.replace(ENVIRONMENTS["prod"].search, availability_zone_count=3, data_node_count=3,
                                 master_node_count=3)
    with pytest.raises(ConfigError, match=r"qa\.search\.availability_zone_count = 3: must be at most the VPC's 2 AZs"):
        EnvironmentConfig(name="qa", search=search)
    EnvironmentConfig(name="qa", search=search, account=ACCOUNT, region=REGION,
                      network=NetworkConfig(availability_zones=("eu-west-1a", "eu-west-1b", "eu-west-1c")))


# --- one log resource policy per account and region ------------------------------------------

def test_one_log_policy_serves_every_domain_of_the_account(synthesized_with_zones):
    """dev's policy covers the log groups staging's and prod's domains publish to; they create
    none, and their domains read dev's output, so they cannot be created before it exists."""
    templates = synthesized_with_zones[1]
    _, policy = only_resource(templates["dev"]["Search"], "AWS::Logs::ResourcePolicy")
    (statement,) = json.loads(rendered(policy["Properties"]["PolicyDocument"]))["Statement"]
    pattern = statement["Resource"]
    assert pattern == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:file-search-*-search-*"
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert templates["dev"]["Search"]["Outputs"]["OpenSearchLogPolicyName"]["Value"] == \
        "file-search-dev-search-opensearch-logs"
    for env in ("staging", "prod"):
        search = templates[env]["Search"]
        assert not resources_of_type(search, "AWS::Logs::ResourcePolicy")
        assert "OpenSearchLogPolicyName" not in search.get("Outputs", {})
        _, domain = only_resource(search, "AWS::OpenSearchService::Domain")
        tags = {t["Key"]: t["Value"] for t in domain["Properties"]["Tags"]}
        assert tags["opensearch-log-policy"] == {"Fn::GetStackOutput": {
            "StackName": "file-search-dev-search", "OutputName": "OpenSearchLogPolicyName"}}
        # CloudFormation names a log group without a name `<stack name>-<logical id>-<suffix>`.
        for option in domain["Properties"]["LogPublishingOptions"].values():
            logical_id = option["CloudWatchLogsLogGroupArn"]["Fn::GetAtt"][0]
            arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:file-search-{env}-search-{logical_id}-AB12CD:*"
            assert fnmatchcase(arn, pattern), arn
    # Not the log groups of another stack (the fleet's worker log, the VPC's flow logs).
    assert not fnmatchcase(f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:file-search-dev-fleet-WorkerLogs-AB12", pattern)


def test_the_shared_account_passes_the_cross_environment_check():
    assert log_policy_problems([targeted(env) for env in ENVIRONMENTS]) == []
