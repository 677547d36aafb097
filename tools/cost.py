"""Monthly cost estimate per environment, read from the synthesized templates.

    python -m tools.cost --update-doc            # what `make cost` runs (after `make synth`)
    python -m tools.cost --assembly DIR --env dev --messages-per-second 5

Prices come from `tools/prices.toml` (one region, on-demand, dated); usage that no template
states (messages per second, log volume) comes from its `[usage]` assumptions, which the output
repeats beside the figures they drive. Priced: the worker fleet at its minimum and its maximum
size (instance-hours, root volumes, detailed monitoring), interface VPC endpoints per AZ, the
OpenSearch domain (data and dedicated master nodes, storage), KMS keys, CloudWatch alarms (per
metric) and dashboards, log ingestion and SQS requests. Not priced: S3 storage and requests, data
transfer and endpoint data processing, log storage, Lambda (custom resources run at deploy time),
SNS, KMS requests. Nothing here imports the CDK app or calls AWS.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from contract.assembly import StackTemplate, read_stacks

PRICES_FILE = Path(__file__).resolve().parent / "prices.toml"
REPO = Path(__file__).resolve().parent.parent


class CostError(ValueError):
    """A template value or a price the estimate needs is missing; the message names it."""


@dataclass(frozen=True)
class Usage:
    """What the templates cannot say: how much the environment is used (assumptions)."""

    messages_per_second: float
    log_gb_per_month: float
    sqs_requests_per_message: float
    idle_receives_per_instance_hour: float


@dataclass(frozen=True)
class PriceTable:
    path: Path
    data: Mapping[str, Any]

    @classmethod
    def load(cls, path: Path = PRICES_FILE) -> PriceTable:
        try:
            data = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise CostError(f"cannot read the price table {path}: {error}") from None
        table = cls(Path(path), data)
        for key in ("region", "currency", "prices_as_of", "recorded_on", "source", "hours_per_month"):
            table.meta(key)
        return table

    def meta(self, key: str) -> Any:
        value = self.data.get("meta", {}).get(key)
        if value is None:
            raise CostError(f"{self.path}: [meta] lacks {key!r}")
        return value

    @property
    def hours(self) -> float:
        return float(self.meta("hours_per_month"))

    def price(self, table: str, key: str, what: str) -> float:
        value = self.data.get(table, {}).get(key)
        if not isinstance(value, int | float):
            raise CostError(f"no price for {what} {key!r} in {self.path.name} [{table}]: "
                            f"add it from the AWS pricing page")
        return float(value)

    def usage(self, environment: str) -> Usage:
        usage = self.data.get("usage", {})
        merged = {**usage.get("default", {}), **usage.get(environment, {})}
        try:
            return Usage(**{name: float(merged[name]) for name in Usage.__dataclass_fields__})
        except KeyError as missing:
            raise CostError(f"{self.path}: [usage.default] lacks {missing}") from None

    def describe(self) -> str:
        return (f"{self.meta('region')}, on-demand, {self.meta('currency')}, "
                f"{self.meta('hours_per_month')} h/month; prices as of {self.meta('prices_as_of')} "
                f"({_relative(self.path)}, recorded {self.meta('recorded_on')}: check them "
                f"against the AWS pricing pages before quoting)")


@dataclass(frozen=True)
class LineItem:
    name: str
    detail: str
    at_min: float
    at_max: float
    # True when the figure rests on a [usage] assumption rather than on the templates.
    assumed: bool = False


@dataclass(frozen=True)
class Estimate:
    environment: str
    items: tuple[LineItem, ...]
    usage: Usage

    @property
    def at_min(self) -> float:
        return sum(item.at_min for item in self.items)

    @property
    def at_max(self) -> float:
        return sum(item.at_max for item in self.items)


# -- reading templates ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Resource:
    stack: str
    logical_id: str
    properties: Mapping[str, Any]
    template: Mapping[str, Any]


def _resources(stacks: Iterable[StackTemplate], resource_type: str) -> list[_Resource]:
    found = []
    for stack in stacks:
        for logical_id, resource in stack.template.get("Resources", {}).items():
            if resource.get("Type") == resource_type:
                found.append(_Resource(stack.display_name, logical_id,
                                       resource.get("Properties", {}), stack.template))
    return found


def _literal(value: Any, where: _Resource, field: str) -> Any:
    if value is None or isinstance(value, dict | list):
        raise CostError(f"{where.stack} {where.logical_id}: {field} is "
                        f"{'absent' if value is None else 'not a literal'} in the template "
                        f"({value!r}), so it cannot be priced")
    return value


def _int(value: Any, where: _Resource, field: str) -> int:
    literal = _literal(value, where, field)
    try:
        return int(literal)
    except (TypeError, ValueError):
        raise CostError(f"{where.stack} {where.logical_id}: {field} = {literal!r} is not a number") from None


def _launch_template(group: _Resource) -> Mapping[str, Any]:
    # A group with fallback instance types names its template inside its MixedInstancesPolicy;
    # it launches the template's own (first-priority) type whenever that type has capacity.
    mixed = (group.properties.get("MixedInstancesPolicy") or {}).get("LaunchTemplate") or {}
    specification = group.properties.get("LaunchTemplate") or mixed.get("LaunchTemplateSpecification") or {}
    reference = specification.get("LaunchTemplateId")
    logical_id = reference.get("Ref") if isinstance(reference, dict) else None
    resource = group.template.get("Resources", {}).get(logical_id or "")
    if not resource or resource.get("Type") != "AWS::EC2::LaunchTemplate":
        raise CostError(f"{group.stack} {group.logical_id}: LaunchTemplate.LaunchTemplateId does "
                        "not reference a launch template of the same stack")
    return resource.get("Properties", {}).get("LaunchTemplateData", {})


# -- pricing -------------------------------------------------------------------------------------

def _fleet(stacks: list[StackTemplate], prices: PriceTable) -> list[LineItem]:
    items = []
    for group in _resources(stacks, "AWS::AutoScaling::AutoScalingGroup"):
        low = _int(group.properties.get("MinSize"), group, "MinSize")
        high = _int(group.properties.get("MaxSize"), group, "MaxSize")
        data = _launch_template(group)
        instance_type = _literal(data.get("InstanceType"), group, "LaunchTemplateData.InstanceType")
        per_instance = prices.price("ec2_instance_hour", instance_type, "EC2 instance type") * prices.hours
        parts = [instance_type]
        for mapping in data.get("BlockDeviceMappings", []):
            ebs = mapping.get("Ebs") or {}
            size = _int(ebs.get("VolumeSize"), group, "BlockDeviceMappings.Ebs.VolumeSize")
            volume_type = ebs.get("VolumeType", "gp2")
            per_instance += size * prices.price("ebs_gb_month", volume_type, "EBS volume type")
            parts.append(f"{size} GiB {volume_type}")
        if (data.get("Monitoring") or {}).get("Enabled"):
            per_instance += prices.price("ec2_detailed_monitoring", "per_instance_month", "EC2")
            parts.append("detailed monitoring")
        items.append(LineItem("fleet", f"{low}-{high} x {', '.join(parts)}",
                              low * per_instance, high * per_instance))
    return items


def _capacity(stacks: list[StackTemplate]) -> tuple[int, int]:
    groups = _resources(stacks, "AWS::AutoScaling::AutoScalingGroup")
    return (sum(_int(g.properties.get("MinSize"), g, "MinSize") for g in groups),
            sum(_int(g.properties.get("MaxSize"), g, "MaxSize") for g in groups))


def _endpoints(stacks: list[StackTemplate], prices: PriceTable) -> list[LineItem]:
    interface = [e for e in _resources(stacks, "AWS::EC2::VPCEndpoint")
                 if e.properties.get("VpcEndpointType") == "Interface"]
    if not interface:
        return []
    # An interface endpoint has one network interface, billed hourly, per subnet (one per AZ).
    az_counts = [len(_literal_list(e, "SubnetIds")) for e in interface]
    hourly = prices.price("vpc_endpoint", "interface_az_hour", "VPC endpoint")
    monthly = sum(az_counts) * hourly * prices.hours
    shape = (f"{len(interface)} x {az_counts[0]} AZ" if len(set(az_counts)) == 1
             else f"{len(interface)} endpoints in {sum(az_counts)} endpoint-AZs")
    return [LineItem("interface endpoints", shape, monthly, monthly)]


def _literal_list(resource: _Resource, field: str) -> list[Any]:
    value = resource.properties.get(field)
    if not isinstance(value, list):
        raise CostError(f"{resource.stack} {resource.logical_id}: {field} is not a list in the "
                        f"template ({value!r}), so the AZs it spans cannot be counted")
    return value


def _search(stacks: list[StackTemplate], prices: PriceTable) -> list[LineItem]:
    items = []
    for domain in _resources(stacks, "AWS::OpenSearchService::Domain"):
        cluster = domain.properties.get("ClusterConfig") or {}
        if cluster.get("WarmEnabled") or (cluster.get("ColdStorageOptions") or {}).get("Enabled"):
            raise CostError(f"{domain.stack} {domain.logical_id}: UltraWarm/cold storage is not "
                            "in the price table")
        count = _int(cluster.get("InstanceCount", 1), domain, "ClusterConfig.InstanceCount")
        node_type = _literal(cluster.get("InstanceType"), domain, "ClusterConfig.InstanceType")
        node_hour = prices.price("opensearch_instance_hour", node_type, "OpenSearch instance type")
        monthly = count * node_hour * prices.hours
        parts = [f"{count} x {node_type}"]
        if cluster.get("DedicatedMasterEnabled"):
            masters = _int(cluster.get("DedicatedMasterCount"), domain, "ClusterConfig.DedicatedMasterCount")
            master_type = _literal(cluster.get("DedicatedMasterType"), domain,
                                   "ClusterConfig.DedicatedMasterType")
            monthly += masters * prices.price("opensearch_instance_hour", master_type,
                                              "OpenSearch instance type") * prices.hours
            parts.append(f"{masters} x {master_type} masters")
        ebs = domain.properties.get("EBSOptions") or {}
        if ebs.get("EBSEnabled"):
            size = _int(ebs.get("VolumeSize"), domain, "EBSOptions.VolumeSize")
            volume_type = ebs.get("VolumeType", "gp2")
            # The volume size is per data node.
            monthly += count * size * prices.price("opensearch_storage_gb_month", volume_type,
                                                   "OpenSearch volume type")
            parts.append(f"{size} GiB {volume_type} per node")
        items.append(LineItem("search domain", ", ".join(parts), monthly, monthly))
    return items


def _per_resource(stacks: list[StackTemplate], prices: PriceTable) -> list[LineItem]:
    items = []
    keys = _resources(stacks, "AWS::KMS::Key")
    if keys:
        monthly = len(keys) * prices.price("kms", "key_month", "KMS")
        items.append(LineItem("KMS keys", f"{len(keys)} key(s)", monthly, monthly))
    alarms = _resources(stacks, "AWS::CloudWatch::Alarm")
    if alarms:
        # A metric-math alarm is billed per metric it reads, not per expression.
        metrics = sum(max(1, sum(1 for m in a.properties.get("Metrics", []) if "MetricStat" in m))
                      for a in alarms)
        monthly = metrics * prices.price("cloudwatch", "alarm_metric_month", "CloudWatch")
        items.append(LineItem("alarms", f"{len(alarms)} alarm(s), {metrics} metric(s)",
                              monthly, monthly))
    dashboards = _resources(stacks, "AWS::CloudWatch::Dashboard")
    if dashboards:
        monthly = len(dashboards) * prices.price("cloudwatch", "dashboard_month", "CloudWatch")
        items.append(LineItem("dashboards", f"{len(dashboards)} dashboard(s)", monthly, monthly))
    return items


def _usage_items(stacks: list[StackTemplate], prices: PriceTable, usage: Usage) -> list[LineItem]:
    logs = usage.log_gb_per_month * prices.price("cloudwatch", "log_ingestion_gb", "CloudWatch")
    items = [LineItem("log ingestion", f"{usage.log_gb_per_month:g} GB/month (assumed)",
                      logs, logs, assumed=True)]
    if _resources(stacks, "AWS::SQS::Queue"):
        low, high = _capacity(stacks)
        messages = usage.messages_per_second * prices.hours * 3600
        per_million = prices.price("sqs", "requests_per_million", "SQS")

        def monthly(instances: int) -> float:
            idle = instances * usage.idle_receives_per_instance_hour * prices.hours
            return (messages * usage.sqs_requests_per_message + idle) / 1e6 * per_million

        items.append(LineItem(
            "SQS requests",
            f"{usage.messages_per_second:g} msg/s x {usage.sqs_requests_per_message:g} requests "
            f"+ idle polls (assumed)", monthly(low), monthly(high), assumed=True))
    return items


def estimate(environment: str, stacks: list[StackTemplate], prices: PriceTable,
             usage: Usage | None = None) -> Estimate:
    """The monthly estimate of one environment from the templates of its stacks."""
    usage = usage or prices.usage(environment)
    items = (_fleet(stacks, prices) + _endpoints(stacks, prices) + _search(stacks, prices)
             + _per_resource(stacks, prices) + _usage_items(stacks, prices, usage))
    return Estimate(environment, tuple(items), usage)


def environment_of(stack: StackTemplate) -> str:
    """The CDK Stage a stack belongs to: `dev/Fleet` -> `dev`."""
    return stack.display_name.split("/", 1)[0] if "/" in stack.display_name else "(app)"


def estimate_all(stacks: Mapping[str, StackTemplate], prices: PriceTable,
                 overrides: Mapping[str, float] | None = None) -> dict[str, Estimate]:
    """One estimate per environment (CDK Stage) of an assembly's stacks."""
    by_environment: dict[str, list[StackTemplate]] = {}
    for stack in stacks.values():
        by_environment.setdefault(environment_of(stack), []).append(stack)
    estimates = [estimate(environment, members, prices,
                          replace(prices.usage(environment), **(overrides or {})))
                 for environment, members in by_environment.items()]
    # Cheapest first: dev, staging, prod read in that order without knowing their names.
    return {e.environment: e for e in sorted(estimates, key=lambda e: (e.at_min, e.environment))}


# -- rendering -----------------------------------------------------------------------------------

def money(amount: float) -> str:
    return f"${amount:,.2f}"


def signed(amount: float) -> str:
    if round(amount, 2) == 0:
        return "±$0.00"
    return ("+" if amount > 0 else "−") + money(abs(amount))


def render_text(estimates: Mapping[str, Estimate], prices: PriceTable) -> str:
    lines = [f"Monthly cost estimate per environment ({prices.describe()}).", ""]
    width = max([len(i.detail) for e in estimates.values() for i in e.items] + [20])
    for env in estimates.values():
        lines.append(f"{env.environment:<{22 + width}} {'at min':>11} {'at max':>11}")
        for item in env.items:
            lines.append(f"  {item.name:<20}{item.detail:<{width}} {money(item.at_min):>11} "
                         f"{money(item.at_max):>11}")
        lines.append(f"  {'total':<20}{'':<{width}} {money(env.at_min):>11} {money(env.at_max):>11}")
        lines.append("")
    lines.append("at min / at max: the worker fleet at its minimum / maximum size (Auto Scaling "
                 "MinSize / MaxSize); everything else runs all month.")
    return "\n".join(lines) + "\n"


# The block of docs/environments.md that `make cost` writes (tests/cost/test_cost.py checks it).
DOC_FILE = REPO / "docs" / "environments.md"
DOC_BEGIN = "<!-- make cost: begin (generated; edit tools/prices.toml or the app, then run make cost) -->"
DOC_END = "<!-- make cost: end -->"


def render_doc(estimates: Mapping[str, Estimate], prices: PriceTable) -> str:
    """The Markdown the doc shows between DOC_BEGIN and DOC_END: each environment's total, and
    the first (cheapest) environment's line items at min, which is its idle cost."""
    envs = list(estimates.values())
    lines = [f"Monthly estimate ({prices.meta('region')} on-demand list prices as of "
             f"{prices.meta('prices_as_of')}, assumed traffic as in `tools/prices.toml`):", "",
             "| | " + " | ".join(e.environment for e in envs) + " |",
             "| --- |" + " --- |" * len(envs),
             "| fleet at min – at max | " + " | ".join(
                 f"{money(e.at_min)} – {money(e.at_max)}" for e in envs) + " |", ""]
    idle = envs[0]
    lines.append(f"{idle.environment} at min, item by item:")
    lines.append("")
    lines += [f"- {item.name} ({item.detail}): {money(item.at_min)}" for item in idle.items]
    return "\n".join(lines) + "\n"


def update_doc(path: Path, block: str) -> bool:
    """Replace the text between the markers in `path` with `block`; True if it changed."""
    text = path.read_text()
    start, end = text.find(DOC_BEGIN), text.find(DOC_END)
    if start < 0 or end < start:
        raise CostError(f"{path} has no {DOC_BEGIN!r} ... {DOC_END!r} block to write the "
                        "estimate into")
    new = text[:start + len(DOC_BEGIN)] + "\n" + block + text[end:]
    if new != text:
        path.write_text(new)
    return new != text


def cost_lines(before: Mapping[str, Estimate] | None, after: Mapping[str, Estimate] | None) -> list[str]:
    """One Markdown line per environment: before -> after and the delta, at min and at max."""
    before, after = before or {}, after or {}
    lines = []
    for env in list(after) + [e for e in before if e not in after]:
        old, new = before.get(env), after.get(env)
        if old and new:
            lines.append(
                f"- `{env}`: {money(old.at_min)} → {money(new.at_min)} "
                f"({signed(new.at_min - old.at_min)}) with the fleet at min; "
                f"{money(old.at_max)} → {money(new.at_max)} ({signed(new.at_max - old.at_max)}) at max")
        elif new:
            lines.append(f"- `{env}` (new): {money(new.at_min)} with the fleet at min; "
                         f"{money(new.at_max)} at max")
        elif old:
            lines.append(f"- `{env}` (removed): {money(old.at_min)} → $0.00 at min "
                         f"({signed(-old.at_min)})")
    return lines


def cost_section(before: Mapping[str, StackTemplate], after: Mapping[str, StackTemplate],
                 prices_file: Path = PRICES_FILE) -> list[str]:
    """The PR comment's cost lines: both assemblies priced with the same (head's) price table, so
    the delta is what the change does to the templates. An unpriceable template is reported, not
    fatal: the diff is still worth posting."""
    try:
        prices = PriceTable.load(prices_file)
        lines = cost_lines(estimate_all(before, prices) if before else {}, estimate_all(after, prices))
    except CostError as error:
        return ["**Monthly cost estimate**: not computed: " + str(error)]
    heading = (f"**Monthly cost estimate** (`make cost`; {prices.meta('region')} on-demand list "
               f"prices as of {prices.meta('prices_as_of')}, assumed traffic as in "
               f"`{_relative(prices.path)}`):")
    return [heading] + lines


def _relative(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assembly", type=Path, default=REPO / "cdk.out", metavar="DIR",
                        help="synthesized cloud assembly (default: cdk.out; `make cost` synthesizes it)")
    parser.add_argument("--prices", type=Path, default=PRICES_FILE, metavar="FILE",
                        help="price table (default: tools/prices.toml)")
    parser.add_argument("--env", action="append", metavar="NAME",
                        help="only this environment (repeatable)")
    parser.add_argument("--messages-per-second", type=float, metavar="N",
                        help="override the assumed upload rate for every environment")
    parser.add_argument("--log-gb-per-month", type=float, metavar="GB",
                        help="override the assumed log volume for every environment")
    parser.add_argument("--update-doc", type=Path, metavar="FILE", nargs="?", const=DOC_FILE,
                        help="also write the estimate of every environment into FILE's "
                        "generated block (default: docs/environments.md); refused with --env or "
                        "an override, which the doc does not describe")
    args = parser.parse_args(argv)
    if args.update_doc and (args.env or args.messages_per_second is not None
                            or args.log_gb_per_month is not None):
        print("error: --update-doc writes the default estimate of every environment: drop "
              "--env, --messages-per-second and --log-gb-per-month", file=sys.stderr)
        return 2
    overrides = {name: value for name, value in (
        ("messages_per_second", args.messages_per_second),
        ("log_gb_per_month", args.log_gb_per_month)) if value is not None}
    try:
        prices = PriceTable.load(args.prices)
        estimates = estimate_all(read_stacks(args.assembly), prices, overrides)
    except (CostError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.env:
        unknown = [e for e in args.env if e not in estimates]
        if unknown:
            print(f"error: no environment {', '.join(map(repr, unknown))} in {args.assembly}: "
                  f"choose from {', '.join(estimates)}", file=sys.stderr)
            return 2
        estimates = {e: estimates[e] for e in args.env}
    print(render_text(estimates, prices), end="")
    if args.update_doc:
        try:
            changed = update_doc(args.update_doc, render_doc(estimates, prices))
        except CostError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"{_relative(args.update_doc)}: {'updated' if changed else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
