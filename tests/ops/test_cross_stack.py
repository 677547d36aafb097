"""`ops drift`'s cross-stack check (ops/cross_stack.py) on the real synthesized templates.

moto's CloudFormation does not resolve `Fn::GetStackOutput` (an output returning one comes back
as the text of the dict), so the stale-value scenarios run against a small fake of the only two
calls the check makes, DescribeStacks and GetTemplate, which deploys like CloudFormation: a
weak reference resolves against the producer's outputs when the consumer is deployed, never
later. It also writes the templates' SSM parameters into a fake of GetParameter, as
CloudFormation does when it deploys them, to check the SSM dynamic references. The removal case
and the CLI wiring run against moto's CloudFormation.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from contract.names import stack_name
from ops import cross_stack
from ops.cross_stack import REFERENCE

ORDER = ("Alerts", "Network", "Stateful", "Search", "Fleet", "Monitoring")  # CDK's deploy order


class FakeSsm:
    """GetParameter: what CloudFormation wrote, and when it last changed the value."""

    def __init__(self) -> None:
        self.parameters: dict[str, tuple[str, datetime]] = {}

    def write(self, name: str, value: str, now: datetime) -> None:
        if self.parameters.get(name, (None,))[0] != value:  # an unchanged value is no update
            self.parameters[name] = (value, now)

    def get_parameter(self, Name: str) -> dict:
        if Name not in self.parameters:
            raise ClientError({"Error": {"Code": "ParameterNotFound", "Message": ""}}, "GetParameter")
        value, modified = self.parameters[Name]
        return {"Parameter": {"Name": Name, "Value": value, "LastModifiedDate": modified}}


class FakeCloudFormation:
    def __init__(self) -> None:
        self.stacks: dict[str, tuple[dict, dict[str, str]]] = {}
        self.generation: dict[str, int] = {}
        self.deployed_at: dict[str, datetime] = {}
        self.ssm = FakeSsm()
        self._now = datetime(2026, 1, 1, tzinfo=UTC)

    def deploy(self, name: str, template: dict) -> None:
        """Create or update: outputs resolve now; a Ref or GetAtt stands for a physical value
        that changes when the stack's resources are replaced (`replace`). SSM parameters are
        written with their values."""
        self._now += timedelta(minutes=1)
        self.generation.setdefault(name, 1)
        outputs = {key: self._value(name, output["Value"])
                   for key, output in template.get("Outputs", {}).items()}
        self.stacks[name] = (template, outputs)
        self.deployed_at[name] = self._now
        for resource in template.get("Resources", {}).values():
            if resource["Type"] == "AWS::SSM::Parameter":
                props = resource["Properties"]
                self.ssm.write(props["Name"], self._value(name, props["Value"]), self._now)

    def replace(self, name: str, template: dict) -> None:
        self.generation[name] = self.generation.get(name, 1) + 1
        self.deploy(name, template)

    def _value(self, stack: str, value) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and REFERENCE in value:
            ref = value[REFERENCE]
            return self.stacks[ref["StackName"]][1][ref["OutputName"]]  # missing: deploy fails
        if isinstance(value, dict) and "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(self._value(stack, p) for p in parts)
        return f"{stack}#{self.generation[stack]}:{json.dumps(value, sort_keys=True)}"

    def describe_stacks(self, StackName: str) -> dict:
        if StackName not in self.stacks:
            raise ClientError({"Error": {"Code": "ValidationError",
                                         "Message": f"Stack with id {StackName} does not exist"}},
                              "DescribeStacks")
        _, outputs = self.stacks[StackName]
        return {"Stacks": [{"StackName": StackName, "CreationTime": self.deployed_at[StackName], "Outputs": [
            {"OutputKey": k, "OutputValue": v} for k, v in outputs.items()]}]}

    def get_template(self, StackName: str, TemplateStage: str) -> dict:
        assert TemplateStage == "Processed"
        self.describe_stacks(StackName=StackName)
        return {"TemplateBody": self.stacks[StackName][0]}


@pytest.fixture
def dev(synthesized):
    templates = synthesized.templates["dev"]
    cfn = FakeCloudFormation()
    for part in ORDER:
        cfn.deploy(stack_name("dev", part.lower()), templates[part])
    return cfn, templates


def test_deployed_together_every_reference_is_current(dev):
    cfn, templates = dev
    report = cross_stack.check(cfn, "dev")
    assert report.stale == [] and report.unreadable == []
    # The Fleet stack echoes the search endpoint; the others are checked for removal only.
    assert report.compared == 1
    every = sum(len(cross_stack.weak_references(t)) for t in templates.values())
    assert every > 10 and report.not_comparable == every - 1
    assert cross_stack.render("dev", report).startswith("Cross-stack values in dev: 1 compared")


def test_a_replaced_domain_leaves_the_fleet_stale_until_it_is_deployed_again(dev):
    cfn, templates = dev
    search, fleet = stack_name("dev", "search"), stack_name("dev", "fleet")
    cfn.replace(search, templates["Search"])  # `cdk deploy dev/Search` alone
    report = cross_stack.check(cfn, "dev")
    (stale,) = report.stale
    assert (stale.consumer, stale.producer) == (fleet, search)
    assert stale.consumer_value.startswith(f"{search}#1:") and stale.producer_value.startswith(f"{search}#2:")
    assert any(p.startswith("Resources/WorkersLaunchTemplate") for p in stale.used_at), stale.used_at
    text = cross_stack.render("dev", report)
    assert "STALE cross-stack values in dev: 1" in text
    assert "fix: make deploy ENV=dev   # cdk deploy 'dev/*': all stacks of the environment together" in text
    cfn.deploy(fleet, templates["Fleet"])
    assert cross_stack.check(cfn, "dev").stale == []


def test_an_output_a_consumer_still_reads_is_reported_when_removed(dev):
    cfn, templates = dev
    stateful = stack_name("dev", "stateful")
    used = {output for t in templates.values() for (producer, output) in cross_stack.weak_references(t)
            if producer == stateful}
    removed = sorted(used)[0]
    trimmed = {**templates["Stateful"], "Outputs": {k: v for k, v in templates["Stateful"]["Outputs"].items()
                                                    if k != removed}}
    cfn.deploy(stateful, trimmed)
    stale = cross_stack.check(cfn, "dev").stale
    assert stale and {s.output for s in stale} == {removed}
    assert all(s.producer_value is None and "no longer exists" in s.describe() for s in stale)


def test_the_ssm_parameters_are_current_when_deployed_together(dev):
    cfn, templates = dev
    names = set(cross_stack.ssm_references(templates["Fleet"]))
    subnets = {f"/file-search-dev/network/isolated-subnet-{i}" for i in (0, 1)}
    assert names == subnets | {"/file-search-dev/network/search-settings-security-group"}
    # The Stateful stack's CDK handlers: the same subnets, and the VPC of their security group.
    stateful = set(cross_stack.ssm_references(templates["Stateful"]))
    assert stateful == subnets | {"/file-search-dev/network/vpc-id"}
    report = cross_stack.check(cfn, "dev", ssm=cfn.ssm)
    assert report.stale == [] and report.unreadable == []
    assert report.compared == 1 + len(names) + len(stateful)


def test_replaced_subnets_leave_the_fleet_stale_until_it_is_deployed_again(dev):
    cfn, templates = dev
    network, fleet = stack_name("dev", "network"), stack_name("dev", "fleet")
    stateful = stack_name("dev", "stateful")
    cfn.replace(network, templates["Network"])  # `cdk deploy dev/Network` alone, new subnets and group
    report = cross_stack.check(cfn, "dev", ssm=cfn.ssm)
    stale = [s for s in report.stale if isinstance(s, cross_stack.StaleParameter)]
    assert {(s.consumer, s.parameter) for s in stale} == {
        *((fleet, p) for p in cross_stack.ssm_references(templates["Fleet"])),
        *((stateful, p) for p in cross_stack.ssm_references(templates["Stateful"]))}
    assert all(s.modified > s.deployed for s in stale)
    assert any("VpcConfig" in p for s in stale for p in s.used_at)
    text = cross_stack.render("dev", report)
    assert (f"{fleet} resolved SSM parameter /file-search-dev/network/isolated-subnet-0 at its deployment"
            in text)
    cfn.deploy(fleet, templates["Fleet"])
    cfn.deploy(stateful, templates["Stateful"])
    assert [s for s in cross_stack.check(cfn, "dev", ssm=cfn.ssm).stale
            if isinstance(s, cross_stack.StaleParameter)] == []


def test_a_parameter_the_fleet_still_reads_is_reported_when_gone(dev):
    cfn, _ = dev
    del cfn.ssm.parameters["/file-search-dev/network/search-settings-security-group"]
    (stale,) = cross_stack.check(cfn, "dev", ssm=cfn.ssm).stale
    assert stale.modified is None
    assert stale.describe().startswith(
        "file-search-dev-fleet reads SSM parameter /file-search-dev/network/search-settings-security-group, "
        "which no longer exists")


def test_the_echo_is_found_through_literal_text_around_the_reference():
    ref = {REFERENCE: {"StackName": "p", "OutputName": "Endpoint"}}
    template = {"Outputs": {"Echo": {"Value": {"Fn::Join": ["", ["https://", ref, "/"]]}},
                            "Other": {"Value": {"Fn::Join": ["", [ref, ref]]}}}}
    assert cross_stack.echoes(template, {"Echo": "https://host.example/", "Other": "xx"}) == {
        ("p", "Endpoint"): "host.example"}


# --- against moto's CloudFormation, through the CLI --------------------------------------------

def test_ops_drift_reports_a_removed_output_and_the_fix(deployed, ops):
    code, out = ops("drift")
    assert code == 0
    assert "Cross-stack values in dev: 0 compared" in out
    reader = {"Resources": {"Reader": {"Type": "AWS::SSM::Parameter", "Properties": {
        "Name": "/ops-tests/dev/reader", "Type": "String",
        "Value": {REFERENCE: {"StackName": "file-search-dev-search", "OutputName": "DomainEndpointGone"}}}}},
        "Outputs": {"WorkerGroupName": {"Value": deployed.group_name},
                    "WorkerLogGroupName": {"Value": deployed.log_group}}}
    deployed.cfn.update_stack(StackName="file-search-dev-fleet", TemplateBody=json.dumps(reader))
    code, out = ops("drift")
    assert code == 1
    assert ("file-search-dev-fleet reads file-search-dev-search output DomainEndpointGone, which no "
            "longer exists (at Resources/Reader/Properties/Value)") in out
    assert "fix: make deploy ENV=dev" in out
