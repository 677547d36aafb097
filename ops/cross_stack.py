"""`ops drift`, cross-stack part: does every weak reference still match its producer's output?

Values pass between the stacks as `Fn::GetStackOutput` (a weak reference, no export): CloudFormation
resolves it when the consumer stack is created or updated and never again, so a producer that
changes an output (a replaced domain's endpoint) or removes it leaves the consumer with the old
value and no error. For each stack of the environment this reads its deployed template
(GetTemplate), finds every `Fn::GetStackOutput` in it, and reads the producer's outputs now
(DescribeStacks):

- the producer stack or output is gone: the consumer still uses a value nothing produces;
- the consumer also returns the reference as an output of its own (an "echo": CloudFormation
  resolves that output in the same operation as the resources), and its value differs from the
  producer's output now: the consumer is stale.

CloudFormation shows the resolved value of a reference nowhere else: GetTemplate returns the
template as submitted, intrinsics and all (TemplateStage=Processed only expands transforms).
A reference without an echo is counted as "not comparable", never reported as fine.

SSM dynamic references (`{{resolve:ssm:<name>}}`, the Network stack's ids in the Fleet stack's
function, stacks/shared/vpc_parameters.py) are resolved the same way, at the consumer's
deployment only. With an `ssm` client each one is checked too: the parameter is gone, or it was
modified after the consumer stack's last deployment (its value then is not what the consumer
holds).

Permissions: cloudformation:GetTemplate and cloudformation:DescribeStacks on the environment's
stacks (`arn:aws:cloudformation:<region>:<account>:stack/file-search-<env>-*/*`), and
ssm:GetParameter on `arn:aws:ssm:<region>:<account>:parameter/file-search-<env>/*`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from contract.names import ALERTS, FLEET, MONITORING, NETWORK, SEARCH, STATEFUL, stack_name

STACKS = (ALERTS, STATEFUL, NETWORK, SEARCH, FLEET, MONITORING)
REFERENCE = "Fn::GetStackOutput"
# Without a version: CloudFormation resolves the latest one when the stack is deployed.
SSM_REFERENCE = re.compile(r"\{\{resolve:ssm:([^:}]+)\}\}")


@dataclass(frozen=True)
class Stale:
    """One weak reference whose consumer does not hold the producer's current output."""

    consumer: str
    producer: str
    output: str
    used_at: tuple[str, ...]
    consumer_value: str | None  # None: not echoed (only a removal can be seen)
    producer_value: str | None  # None: the producer stack or its output is gone

    def describe(self) -> str:
        where = ", ".join(self.used_at)
        if self.producer_value is None:
            return (f"{self.consumer} reads {self.producer} output {self.output}, which no longer "
                    f"exists (at {where})")
        return (f"{self.consumer} holds {self.consumer_value!r} from {self.producer} output "
                f"{self.output}, which is now {self.producer_value!r} (at {where})")


@dataclass(frozen=True)
class StaleParameter:
    """One SSM dynamic reference the consumer resolved before its parameter last changed."""

    consumer: str
    parameter: str
    used_at: tuple[str, ...]
    deployed: datetime
    modified: datetime | None  # None: the parameter is gone

    def describe(self) -> str:
        where = ", ".join(self.used_at)
        if self.modified is None:
            return (f"{self.consumer} reads SSM parameter {self.parameter}, which no longer "
                    f"exists (at {where})")
        return (f"{self.consumer} resolved SSM parameter {self.parameter} at its deployment "
                f"({self.deployed.isoformat()}); the parameter changed since "
                f"({self.modified.isoformat()}) (at {where})")


@dataclass
class CrossStackReport:
    stale: list[Stale | StaleParameter] = field(default_factory=list)
    compared: int = 0  # references whose resolved value was compared
    not_comparable: int = 0  # references without an echo output: only removal is checked
    unreadable: list[str] = field(default_factory=list)


def weak_references(template: dict) -> dict[tuple[str, str], list[str]]:
    """(producer stack, output name) -> where the template uses it (`Resources/<id>/...`)."""
    found: dict[tuple[str, str], list[str]] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            target = value.get(REFERENCE)
            if len(value) == 1 and isinstance(target, dict):
                key = (str(target.get("StackName")), str(target.get("OutputName")))
                found.setdefault(key, []).append(path)
                return
            for k, v in value.items():
                walk(v, f"{path}/{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{path}/{i}")

    for section in ("Resources", "Outputs"):
        walk(template.get(section, {}), section)
    return found


def ssm_references(template: dict) -> dict[str, list[str]]:
    """SSM parameter name -> where the template's resources name it as a dynamic reference."""
    found: dict[str, list[str]] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, str):
            for name in SSM_REFERENCE.findall(value):
                found.setdefault(name, []).append(path)
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{path}/{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{path}/{i}")

    walk(template.get("Resources", {}), "Resources")
    return found


def echoes(template: dict, outputs: dict[str, str]) -> dict[tuple[str, str], str]:
    """(producer, output) -> the value the consumer resolved, from its outputs that are one weak
    reference, alone or joined with literal text (`https://` + an endpoint)."""
    out = {}
    for key, output in template.get("Outputs", {}).items():
        shape = _one_reference(output.get("Value"))
        if shape is None or key not in outputs:
            continue
        target, before, after = shape
        value = outputs[key]
        if value.startswith(before) and value.endswith(after) and len(value) >= len(before + after):
            out[target] = value[len(before):len(value) - len(after)]
    return out


def _one_reference(value: Any) -> tuple[tuple[str, str], str, str] | None:
    """((producer, output), literal text before, after) when `value` is exactly one reference."""
    def target(v: Any) -> tuple[str, str] | None:
        ref = v.get(REFERENCE) if isinstance(v, dict) and len(v) == 1 else None
        return (str(ref.get("StackName")), str(ref.get("OutputName"))) if isinstance(ref, dict) else None

    if target(value):
        return target(value), "", ""
    join = value.get("Fn::Join") if isinstance(value, dict) and len(value) == 1 else None
    if not (isinstance(join, list) and len(join) == 2 and join[0] == "" and isinstance(join[1], list)):
        return None
    refs = [i for i, part in enumerate(join[1]) if not isinstance(part, str)]
    if len(refs) != 1 or target(join[1][refs[0]]) is None:
        return None
    i = refs[0]
    return target(join[1][i]), "".join(join[1][:i]), "".join(join[1][i + 1:])


def check(cfn: Any, env: str, ssm: Any = None) -> CrossStackReport:
    """Every stack of `env` that is deployed, against its producers' outputs now (and, with an
    `ssm` client, against the SSM parameters it resolves)."""
    report = CrossStackReport()
    described: dict[str, dict[str, str] | None] = {}
    deployed_at: dict[str, datetime] = {}

    def outputs_of(name: str) -> dict[str, str] | None:
        if name not in described:
            try:
                stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
                described[name] = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
                deployed_at[name] = stack.get("LastUpdatedTime") or stack["CreationTime"]
            except ClientError as error:
                if "does not exist" not in str(error):
                    raise
                described[name] = None
        return described[name]

    for part in STACKS:
        consumer = stack_name(env, part)
        consumer_outputs = outputs_of(consumer)
        if consumer_outputs is None:
            continue  # not deployed: nothing in it can be stale
        try:
            body = cfn.get_template(StackName=consumer, TemplateStage="Processed")["TemplateBody"]
        except ClientError as error:
            report.unreadable.append(f"the template of {consumer} ({error})")
            continue
        try:  # boto3 parses a JSON body itself; CDK deploys JSON, never YAML
            template = json.loads(body) if isinstance(body, str) else body
        except json.JSONDecodeError:
            report.unreadable.append(f"the template of {consumer} (not JSON)")
            continue
        resolved = echoes(template, consumer_outputs)
        for (producer, output), used_at in sorted(weak_references(template).items()):
            # The echo output is not a use; the resources are.
            used_at = [p for p in used_at if not p.startswith("Outputs/")] or used_at
            producer_outputs = outputs_of(producer)
            now = None if producer_outputs is None else producer_outputs.get(output)
            held = resolved.get((producer, output))
            if (producer, output) in resolved:
                report.compared += 1
            else:
                report.not_comparable += 1
            if now is None or (held is not None and held != now):
                report.stale.append(Stale(consumer, producer, output, tuple(used_at), held, now))
        if ssm is not None:
            _check_parameters(ssm, consumer, deployed_at[consumer], template, report)
    return report


def _check_parameters(ssm: Any, consumer: str, deployed: datetime, template: dict,
                      report: CrossStackReport) -> None:
    for name, used_at in sorted(ssm_references(template).items()):
        try:
            modified = ssm.get_parameter(Name=name)["Parameter"]["LastModifiedDate"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ParameterNotFound":
                report.unreadable.append(f"SSM parameter {name} ({error})")
                continue
            modified = None
        report.compared += 1
        if modified is None or modified > deployed:
            report.stale.append(StaleParameter(consumer, name, tuple(used_at), deployed, modified))


def fix_command(env: str) -> str:
    return (f"make deploy ENV={env}   # cdk deploy '{env}/*': all stacks of the environment "
            "together, so each consumer resolves its references again")


def render(env: str, report: CrossStackReport) -> str:
    lines = []
    if report.stale:
        lines.append(f"STALE cross-stack values in {env}: {len(report.stale)}")
        lines += [f"  {s.describe()}" for s in report.stale]
        lines.append(f"  fix: {fix_command(env)}")
    else:
        lines.append(f"Cross-stack values in {env}: {report.compared} compared with their "
                     "producers' outputs, all current")
    if report.not_comparable:
        lines.append(f"  note: {report.not_comparable} reference(s) have no echo output: only "
                     "checked that their producer output still exists")
    lines += [f"  could not read {u}" for u in report.unreadable]
    return "\n".join(lines)
