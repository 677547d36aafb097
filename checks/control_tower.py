"""AWS Control Tower's proactive controls on every synthesis, and the one list of exceptions.

Control Tower's proactive controls are CloudFormation hooks that refuse non-compliant
resources at deploy time. AWS publishes them as cfn-guard rules in
`cdklabs-cdk-validator-cfnguard`, which runs them as a CDK policy-validation plugin beside
cdk-nag. An exception is a CDK acknowledgement of one rule on one construct (and its
children), with a reason; each stack's `<stack>.metadata.json` records it under
`aws:cdk:acknowledged-rules`. Every exception of every environment is declared below, and
tests/infra/test_security_review.py pins them per environment.
"""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path

import jsii
from aws_cdk import (
    Acknowledgment,
    IPolicyValidationContextBeta1,
    IPolicyValidationPluginBeta1,
    PolicyValidationPluginReportBeta1,
    Stage,
    Validations,
)
from cdklabs import cdk_validator_cfnguard
from cdklabs.cdk_validator_cfnguard import CfnGuardValidator
from constructs import IConstruct

from config import EnvironmentConfig

# The plugin's name (the prefix of every acknowledgement id) and the version requirements.txt pins.
PLUGIN_NAME = "cdk-validator-cfnguard"
PLUGIN_VERSION = "0.0.62"
_BUNDLED_RULES = "package/rules/control-tower/cfn-guard/"
RULE_TYPES_FILE = Path(__file__).with_name("control_tower_rule_types.json")

# Control id (as Control Tower names it) -> the rule name the plugin reports, for every control
# that has an exception.
RULES = {
    "CT.AUTOSCALING.PR.6": "autoscaling_mixed_instances_policy_multiple_instance_types_check",
    "CT.AUTOSCALING.PR.11": "autoscaling_group_nitro_encryption_in_transit_override_check",
    "CT.CLOUDWATCH.PR.2": "cloudwatch_log_group_retention_period_check",
    "CT.CLOUDWATCH.PR.3": "cloudwatch_log_group_encrypted_check",
    "CT.LAMBDA.PR.3": "lambda_inside_vpc_check",
    "CT.OPENSEARCH.PR.13": "opensearch_audit_logging_enabled_check",
    "CT.OPENSEARCH.PR.14": "opensearch_data_node_fault_tolerance_check",
    "CT.OPENSEARCH.PR.15": "opensearch_fine_grained_access_control_enabled_check",
    "CT.S3.PR.2": "s3_bucket_logging_enabled_check",
    "CT.S3.PR.4": "s3_event_notifications_enabled_check",
    "CT.S3.PR.9": "s3_bucket_object_lock_enabled_check",
    "CT.S3.PR.10": "s3_bucket_default_encryption_kms_check",
}


# The Beta1 interface, like the plugin whose report it passes on.
@jsii.implements(IPolicyValidationPluginBeta1)
class ControlTowerChecks:
    """All of Control Tower's rules bundled with the pinned plugin version (exceptions are per
    construct, below), run only where the templates have something to check.

    cfn-guard reads every rule file for every template, and most of the bundled rules concern
    services a template does not use: such a rule has no resource to check and passes. So each
    template is checked only with the rules that name a resource type it contains (templates
    that need the same rules in one cfn-guard run); the findings are the same, in about a
    quarter of the time. The report,
    its rule names and the acknowledgement ids are the plugin's own (`cdk-validator-cfnguard::`).
    Which types each rule names is read from `control_tower_rule_types.json`, generated from the
    pinned package (`python -m checks.control_tower`; a test compares the two).
    """

    def __init__(self) -> None:
        self._types_by_rule = {rule: set(types) for rule, types in
                               json.loads(RULE_TYPES_FILE.read_text()).items()}

    @property
    def name(self) -> str:
        return PLUGIN_NAME

    @property
    def version(self) -> str:
        return PLUGIN_VERSION

    @property
    def rule_ids(self) -> list[str]:
        # Named as the plugin names them: ct-s3-pr-10 -> s3pr10.
        return sorted(rule.replace("ct-", "").replace("-", "") for rule in self._types_by_rule)

    def rules_without_resources(self, resource_types: set[str]) -> list[str]:
        """The rules that name resource types, none of which is among `resource_types`."""
        return sorted(rule for rule, types in self._types_by_rule.items()
                      if types and not types & resource_types)

    def validate(self, context: IPolicyValidationContextBeta1) -> PolicyValidationPluginReportBeta1:
        # Templates that need the same rules are checked together, each group once.
        groups: dict[tuple[str, ...], list[str]] = {}
        for path in context.template_paths:
            resources = json.loads(Path(path).read_text()).get("Resources", {}).values()
            skipped = self.rules_without_resources({r.get("Type", "") for r in resources})
            groups.setdefault(tuple(skipped), []).append(path)
        reports = [
            CfnGuardValidator(control_tower_rules_enabled=True, disabled_rules=list(skipped))
            .validate(TemplatesToValidate(paths))
            for skipped, paths in groups.items()
        ]
        return PolicyValidationPluginReportBeta1(
            success=all(report.success for report in reports),
            violations=[violation for report in reports for violation in report.violations],
        )


@jsii.implements(IPolicyValidationContextBeta1)
class TemplatesToValidate:
    """A validation context of the given template files."""

    def __init__(self, paths: list[str]) -> None:
        self._paths = list(paths)

    @property
    def template_paths(self) -> list[str]:
        return self._paths


def bundled_rule_types() -> dict[str, list[str]]:
    """Rule name -> the CloudFormation resource types it names, read from the pinned package."""
    jsii_dir = Path(cdk_validator_cfnguard.__file__).parent / "_jsii"
    package = jsii_dir / f"{PLUGIN_NAME}@{PLUGIN_VERSION}.jsii.tgz"
    found: dict[str, list[str]] = {}
    with tarfile.open(package) as archive:
        for member in archive.getmembers():
            if member.isfile() and member.name.startswith(_BUNDLED_RULES) and member.name.endswith(".guard"):
                text = archive.extractfile(member).read().decode("utf-8")
                found[Path(member.name).stem] = sorted(set(re.findall(r"AWS::\w+::\w+", text)))
    return dict(sorted(found.items()))


# Instance families whose in-transit encryption is not Nitro's (CT.AUTOSCALING.PR.11).
_BURSTABLE = ("t2.", "t3.", "t3a.", "t4g.")


def control_tower_exceptions(config: EnvironmentConfig) -> dict[str, dict[str, str]]:
    """Construct path below the stage -> {control id: reason}, for one environment.

    The one reviewed list: each entry is a control that this environment does not meet on
    that construct, and why. Everything else in the templates passes every control.
    """
    found: dict[str, dict[str, str]] = {}

    def add(path: str, control: str, reason: str) -> None:
        found.setdefault(path, {})[control] = reason

    env = config.name
    search, fleet = config.search, config.fleet

    # --- buckets ---------------------------------------------------------------------------
    add("Stateful/RawFiles/AccessLogs", "CT.S3.PR.10",
        "S3 server access logging delivers only into buckets encrypted with SSE-S3; SSE-KMS "
        "would make S3 drop the raw bucket's access logs.")
    add("Stateful/RawFiles/AccessLogs", "CT.S3.PR.2",
        "This is the access-log bucket: logging it into itself loops, and into another bucket "
        "only moves the question; it is versioned, private and TLS-only instead.")
    add("Stateful/RawFiles/AccessLogs", "CT.S3.PR.9",
        "S3 does not accept a bucket with Object Lock as a server-access-log destination. "
        "Logs expire after bucket.access_log_expiration_days by lifecycle; versioning keeps "
        "deleted or overwritten log objects until then.")
    add("Stateful/RawFiles/Bucket", "CT.S3.PR.4",
        "The bucket has exactly one notification (ObjectCreated, raw prefix, to the main "
        "queue), applied by CDK's notifications custom resource, which the rule cannot see; "
        "the notification guard and tests pin it.")
    add("Stateful/RawFiles/Bucket", "CT.S3.PR.9",
        "The raw files are a copy of the file server (DataSync overwrites and deletes them); "
        "versioning keeps previous versions for bucket.noncurrent_version_expiration_days. "
        "Object Lock would keep files the source deleted and block `cdk destroy` in dev.")

    # --- log groups ------------------------------------------------------------------------
    log_groups = {
        "Fleet/Workers/WorkerLogs": config.log_retention_days,
        "Search/Search/ErrorLogs": config.log_retention_days,
        "Search/Search/SlowIndexLogs": config.log_retention_days,
        "Search/Search/SlowSearchLogs": config.log_retention_days,
    }
    if config.network.existing_vpc is None:
        log_groups["Network/WorkerNetwork/FlowLogs"] = config.network.flow_log_retention_days
        # CDK's default-SG function's (stacks/shared/function_logs.py), as CDK's handlers below.
        log_groups["Network/Custom::VpcRestrictDefaultSGCustomResourceProvider/Logs"] = (
            config.log_retention_days)
    log_groups["Stateful/BucketNotificationsHandler050a0587b7544547bf325f094a3db834/Logs"] = (
        config.log_retention_days)
    if config.bucket.auto_delete_objects:
        log_groups["Stateful/Custom::S3AutoDeleteObjectsCustomResourceProvider/Logs"] = (
            config.log_retention_days)
    if search.imported:
        log_groups = {p: d for p, d in log_groups.items() if not p.startswith("Search/")}
    if search.configures_security_plugin:
        log_groups["Search/Search/AuditLogs"] = config.log_retention_days
    if not search.imported:
        log_groups["Fleet/SearchSecuritySettings/HandlerLogs"] = config.log_retention_days
    for path, days in log_groups.items():
        if days < 365:
            add(path, "CT.CLOUDWATCH.PR.2",
                f"{env} only: logs kept {days} days by configuration; prod keeps them 365 days.")
        if not config.customer_managed_log_key:
            add(path, "CT.CLOUDWATCH.PR.3",
                f"{env} only: encrypted with CloudWatch Logs' AWS-managed key "
                "(customer_managed_log_key=False) to save a key per stack; staging and prod "
                "use a customer-managed key.")

    # --- search domain ---------------------------------------------------------------------
    if not search.imported:
        domain = "Search/Search/Domain"
        if not search.fine_grained_access_control:
            add(domain, "CT.OPENSEARCH.PR.15",
                f"{env} only: no fine-grained access control; IAM identity policies on the "
                "index path and the VPC still gate every request. staging and prod enable it.")
            add(domain, "CT.OPENSEARCH.PR.13",
                f"{env} only: audit logs need fine-grained access control (off here); "
                "staging and prod publish them.")
        if search.data_node_count < 3 or search.availability_zone_count < 2:
            add(domain, "CT.OPENSEARCH.PR.14",
                f"{env} only: {search.data_node_count} data node(s) in "
                f"{search.availability_zone_count} AZ(s) to save cost; the index can be "
                "rebuilt from the raw bucket. prod runs 4 data nodes in 2 AZs.")

    # --- worker fleet ----------------------------------------------------------------------
    group = "Fleet/Workers/Group"
    if not fleet.fallback_instance_types:
        add(group, "CT.AUTOSCALING.PR.6",
            f"{env}: one instance type by configuration (fleet.fallback_instance_types empty).")
    types = (fleet.instance_type, *fleet.fallback_instance_types)
    if fleet.fallback_instance_types and any(t.startswith(_BURSTABLE) for t in types):
        add(group, "CT.AUTOSCALING.PR.11",
            f"{env} only: burstable types ({', '.join(types)}) for a mostly idle fleet. Every "
            "connection a worker makes is TLS already (AWS APIs, the HTTPS-only domain); "
            "prod uses Nitro types that also encrypt in transit.")
    return found


def acknowledge_control_tower_exceptions(stage: Stage, config: EnvironmentConfig) -> None:
    """Acknowledge each exception on its construct; a path that no longer exists is an error,
    so a stale exception cannot linger."""
    for path, controls in control_tower_exceptions(config).items():
        # Walked id by id: listing every construct of the stage costs a jsii call per construct.
        construct: IConstruct | None = stage
        for construct_id in path.split("/"):
            construct = construct.node.try_find_child(construct_id) if construct else None
        if construct is None:
            raise ValueError(f"Control Tower exception for {path!r}: no such construct in {stage.node.path}")
        for control, reason in controls.items():
            Validations.of(construct).acknowledge(
                Acknowledgment(id=f"{PLUGIN_NAME}::{RULES[control]}", reason=f"[{control}] {reason}")
            )


if __name__ == "__main__":
    # After changing the pinned plugin version: regenerate the rule -> resource types table.
    RULE_TYPES_FILE.write_text(json.dumps(bundled_rule_types(), indent=1) + "\n")
