"""Invalid configuration stops synthesis with a message naming the field and the value."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from config import (
    AlarmSubscriptions,
    AlarmThresholds,
    ConfigError,
    EnvironmentConfig,
    FleetConfig,
    NetworkConfig,
    QueueConfig,
    SearchAlarmThresholds,
    SearchConfig,
)
from config.accounts import log_policy_problems
from config.environment import DLQ_MIN_HOURS_LEFT_AT_CRITICAL
from environments import ENVIRONMENTS, environments_named
from tests.support.cdk_app import REPO


def test_the_three_environments_are_valid_and_frozen():
    assert list(ENVIRONMENTS) == ["dev", "staging", "prod"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ENVIRONMENTS["prod"].queue.max_receive_count = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("queue", "field", "value"),
    [
        (QueueConfig(max_receive_count=0), "queue.max_receive_count", "0"),
        (QueueConfig(visibility_timeout_seconds=300, worker_max_processing_seconds=600),
         "queue.visibility_timeout_seconds", "300"),
        (QueueConfig(retention_days=14, dlq_retention_days=14), "queue.dlq_retention_days", "14"),
        (QueueConfig(retention_days=7, dlq_retention_days=4), "queue.dlq_retention_days", "4"),
        (QueueConfig(receive_wait_seconds=30), "queue.receive_wait_seconds", "30"),
    ],
)
def test_invalid_queue_settings_name_the_field_and_value(queue, field, value):
    with pytest.raises(ConfigError) as error:
        EnvironmentConfig(name="dev", queue=queue)
    assert f"dev.{field} = {value}:" in str(error.value)


@pytest.mark.parametrize("azs", [0, 3])
def test_interface_endpoints_cannot_sit_in_more_azs_than_the_vpc_has(azs):
    with pytest.raises(ConfigError) as error:
        EnvironmentConfig(name="dev", network=NetworkConfig(interface_endpoint_azs=azs))
    assert f"dev.network.interface_endpoint_azs = {azs}: must be None (every AZ) or between 1 " \
           "and the VPC's 2 AZs" in str(error.value)


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as error:
        EnvironmentConfig(name="qa", account="123", log_retention_days=8,
                          queue=QueueConfig(max_receive_count=0))
    message = str(error.value)
    for expected in ("qa.account = '123'", "qa.log_retention_days = 8", "qa.queue.max_receive_count = 0"):
        assert expected in message


def test_unknown_environment_lists_the_known_ones():
    with pytest.raises(ConfigError, match="unknown environment 'qa': choose from dev, staging, prod"):
        environments_named(["qa"])


def test_selecting_environments_keeps_their_order():
    assert [c.name for c in environments_named(["prod", "dev"])] == ["prod", "dev"]
    assert [c.name for c in environments_named(None)] == ["dev", "staging", "prod"]


def test_app_refuses_an_unknown_environment_before_synthesizing(tmp_path):
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=REPO, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "CDK_CONTEXT_JSON": '{"env": "qa"}', "CDK_OUTDIR": str(tmp_path)},
    )
    assert result.returncode != 0
    assert "unknown environment 'qa'" in result.stderr


def test_alarm_windows_must_outlast_the_longest_job():
    with pytest.raises(ConfigError) as error:
        EnvironmentConfig(name="dev", queue=QueueConfig(worker_max_processing_seconds=900),
                          alarms=AlarmThresholds(silent_worker_minutes=15, undeleted_window_minutes=20))
    assert "dev.alarms.silent_worker_minutes = 15: must be longer than queue.worker_max_processing_seconds" in str(
        error.value)
    assert "undeleted_window_minutes" not in str(error.value)


@pytest.mark.parametrize("field,value", [
    ("undeleted_min_received", 0), ("delete_abandoned_warning", 0),
    ("queue_depth_warning_minutes", 0), ("worker_error_rate_window_minutes", 2000),
    ("silent_worker_minutes", 1441)])
def test_bad_alarm_settings_are_refused_naming_the_field(field, value):
    with pytest.raises(ConfigError, match=rf"x\.alarms\.{field} = {value}"):
        EnvironmentConfig(name="x", alarms=AlarmThresholds(**{field: value}))


def test_bad_subscriptions_are_refused_naming_the_field():
    with pytest.raises(ConfigError) as error:
        EnvironmentConfig(name="x", subscriptions=AlarmSubscriptions(warning_emails=("oncall",)))
    assert "x.subscriptions.warning_emails = ('oncall',): not e-mail addresses: ['oncall']" in str(error.value)


def test_names_start_with_the_environment_prefix():
    assert ENVIRONMENTS["staging"].name_prefix == "file-search-staging"


def test_prod_retains_and_protects():
    prod = ENVIRONMENTS["prod"]
    assert prod.termination_protection is True
    assert prod.removal_policy == "retain"


def test_prod_keeps_every_instance_in_service_during_a_rollout():
    prod = ENVIRONMENTS["prod"].fleet
    assert prod.min_healthy_percentage == 100 and prod.min_capacity >= 2


def test_fine_grained_access_control_needs_an_admin_role_named_in_config():
    with pytest.raises(ConfigError) as error:
        EnvironmentConfig(name="qa")
    assert "qa.search.admin_role_name = None: must name the IAM role" in str(error.value)
    with pytest.raises(ConfigError, match=r"qa.search.admin_role_name = 'arn:aws:iam::1:role/x': must be an IAM role name"):
        EnvironmentConfig(name="qa", search=SearchConfig(admin_role_name="arn:aws:iam::1:role/x"))
    EnvironmentConfig(name="qa", search=SearchConfig(fine_grained_access_control=False))


def test_fallback_instance_types_must_differ_from_the_primary():
    with pytest.raises(ConfigError, match=r"qa.fleet.fallback_instance_types = \('t3.small',\): must not repeat"):
        EnvironmentConfig(name="qa", search=SearchConfig(admin_role_name="admin"),
                          fleet=FleetConfig(instance_type="t3.small", fallback_instance_types=("t3.small",)))


def test_dlq_age_alarms_must_fire_well_before_the_dlq_retention():
    with pytest.raises(ConfigError) as error:
        EnvironmentConfig(name="x", queue=QueueConfig(retention_days=4, dlq_retention_days=10),
                          alarms=AlarmThresholds(dlq_age_critical_hours=220))
    assert ("x.alarms.dlq_age_critical_hours = 220: must leave at least 48 h to redrive: "
            "queue.dlq_retention_days (10 days = 240 h) counts from the original send, which may "
            "be queue.retention_days (96 h) before the move to the DLQ") in str(error.value)
    # The previous default, 240 h, left 48 h only if a message moved to the DLQ the moment it
    # was sent; one that spent the main queue's 4 days first would expire before the page.
    with pytest.raises(ConfigError, match=r"x\.alarms\.dlq_age_critical_hours = 240: must leave"):
        EnvironmentConfig(name="x", alarms=AlarmThresholds(dlq_age_critical_hours=240))
    with pytest.raises(ConfigError, match=r"x\.alarms\.dlq_age_critical_hours = 72: must be longer "
                                          r"than dlq_age_warning_hours"):
        EnvironmentConfig(name="x", alarms=AlarmThresholds(dlq_age_critical_hours=72))


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_every_dlq_retention_covers_the_main_retention_and_the_redrive_window(env):
    """A DLQ message's retention counts from its original send, its DLQ age from the move: the
    DLQ must keep it for the main queue's retention, plus the age at which dlq-expiring pages,
    plus the redrive window after the page."""
    config = ENVIRONMENTS[env]
    assert (config.queue.dlq_retention_days * 24
            >= config.queue.retention_days * 24 + config.alarms.dlq_age_critical_hours
            + DLQ_MIN_HOURS_LEFT_AT_CRITICAL)


def test_a_crash_loop_threshold_must_exceed_every_instance_starting_once():
    with pytest.raises(ConfigError, match=r"x\.alarms\.worker_starts_critical = 4: must be more "
                                          r"than fleet\.max_capacity \(4\)"):
        EnvironmentConfig(name="x", alarms=AlarmThresholds(worker_starts_critical=4))


@pytest.mark.parametrize("field,value,why", [
    ("no_incoming_messages_hours", 25, "must be None"),
    ("processed_not_deleted_ratio", 0, r"must be in \(0, 1\]"),
    ("consumption_paused_minutes", 0, "must be at least 1"),
    ("worker_error_rate_min_attempts", 0, "must be at least 1"),
    ("processed_not_deleted_datapoints", 4, r"must be at most processed_not_deleted_minutes"),
    ("queue_depth_per_instance_multiple", 0.5, r"must be at least 1"),
])
def test_new_alarm_settings_are_refused_naming_the_field(field, value, why):
    with pytest.raises(ConfigError, match=rf"x\.alarms\.{field} = {value}: {why}"):
        EnvironmentConfig(name="x", alarms=AlarmThresholds(**{field: value}))


def test_search_alarm_settings_are_refused_naming_the_nested_field():
    with pytest.raises(ConfigError, match=r"x\.alarms\.search\.free_storage_percent = 100: must be "
                                          r"a percentage"):
        EnvironmentConfig(name="x", alarms=AlarmThresholds(
            search=SearchAlarmThresholds(free_storage_percent=100)))


def test_no_incoming_alarm_is_on_in_prod_and_off_in_dev_and_staging():
    assert ENVIRONMENTS["prod"].alarms.no_incoming_messages_hours == 24
    assert ENVIRONMENTS["dev"].alarms.no_incoming_messages_hours is None
    assert ENVIRONMENTS["staging"].alarms.no_incoming_messages_hours is None


@pytest.mark.parametrize("name", ["dev-eu", "dev-", "prod-2"])
def test_an_environment_name_cannot_hold_a_dash(name):
    """`file-search-dev-*` (alarms, rules, log groups in the policies) would match `dev-eu`."""
    with pytest.raises(ConfigError) as error:
        EnvironmentConfig(name=name)
    assert f"{name}.name = {name!r}: must be 1-20 lowercase letters or digits" in str(error.value)
    assert "no '-'" in str(error.value)



# --- one OpenSearch log resource policy per account and region (config/accounts.py) -----------

ACCOUNT, OTHER_ACCOUNT, REGION = "123456789012", "210987654321", "eu-west-1"


def placed(env: str, account: str | None = ACCOUNT, owner: str | None = None, **search) -> EnvironmentConfig:
    """`env`'s configuration in `account` and REGION, using `owner`'s log policy."""
    config = ENVIRONMENTS[env]
    network = dataclasses.replace(config.network, availability_zones=("eu-west-1a", "eu-west-1b")
                                  if account else None)
    return dataclasses.replace(config, account=account, region=REGION if account else None,
                               network=network,
                               search=dataclasses.replace(config.search, log_policy_owner=owner, **search))


def test_the_shipped_environments_each_own_their_log_policy():
    """Their accounts are unknown (each may be alone in its account), so each creates one."""
    assert all(c.search.log_policy_owner is None for c in ENVIRONMENTS.values())
    assert log_policy_problems(ENVIRONMENTS.values()) == []


def test_two_owners_in_one_account_and_region_are_refused():
    problems = log_policy_problems([placed("dev"), placed("staging"), placed("prod", OTHER_ACCOUNT)])
    assert problems == [
        f"account {ACCOUNT}, region {REGION}: dev, staging each create the OpenSearch log resource "
        "policy (CloudWatch Logs allows 10 per account and region); keep it in one, e.g. set "
        "search.log_policy_owner = 'dev' in staging"]
    # One owner per account: fine.
    assert log_policy_problems([placed("dev"), placed("staging", owner="dev"),
                                placed("prod", OTHER_ACCOUNT)]) == []


@pytest.mark.parametrize(("envs", "why"), [
    (lambda: [placed("dev", owner="qa")], "'qa': no such environment (choose from dev)"),
    (lambda: [placed("dev", owner="dev")], "'dev': an environment that creates the policy leaves this None"),
    (lambda: [placed("dev", owner="staging"), placed("staging", owner="dev")],
     "'staging': staging does not create the policy (its log_policy_owner is 'dev')"),
    (lambda: [placed("dev"), placed("staging", OTHER_ACCOUNT, owner="dev")],
     f"'dev': dev deploys to account {ACCOUNT}, region {REGION}, not {OTHER_ACCOUNT}, {REGION}"),
    (lambda: [placed("dev", None), placed("staging", owner="dev")],
     f"'dev': dev deploys to account None, region None, not {ACCOUNT}, {REGION}"),
    (lambda: [placed("dev", existing_domain_endpoint="https://x", existing_domain_arn="arn:x"),
              placed("staging", owner="dev")], "'dev': dev does not create the policy (its "
                                               "log_policy_owner is None, its domain is imported)"),
])
def test_a_bad_log_policy_reference_is_refused_naming_the_field(envs, why):
    problems = "\n".join(log_policy_problems(envs()))
    assert ".search.log_policy_owner = " + why in problems


def test_synthesis_refuses_a_bad_log_policy_setup(monkeypatch):
    """environments_named checks every environment, also those not selected."""
    monkeypatch.setitem(ENVIRONMENTS, "staging", placed("staging", None, owner="qa"))
    with pytest.raises(ConfigError, match=r"staging\.search\.log_policy_owner = 'qa': no such environment"):
        environments_named(["dev"])


def test_a_log_policy_owner_must_look_like_an_environment_name():
    with pytest.raises(ConfigError, match=r"dev\.search\.log_policy_owner = 'Dev-1': must be None or "):
        placed("dev", owner="Dev-1")
def test_tombstones_must_outlive_every_late_create_event():
    """A create event older than a removal can arrive until SQS drops it (main retention, then
    the DLQ's): a tombstone purged earlier would let it bring the deleted file back."""
    with pytest.raises(ConfigError) as error:
        EnvironmentConfig(name="x", search=SearchConfig(tombstone_retention_days=18))
    assert ("x.search.tombstone_retention_days = 18: must be longer than queue.retention_days + "
            "queue.dlq_retention_days (4 + 14 days)") in str(error.value)
    with pytest.raises(ConfigError, match=r"x\.search\.tombstone_retention_days = 0: must be at "
                                          r"least 1"):
        EnvironmentConfig(name="x", search=SearchConfig(tombstone_retention_days=0))
    EnvironmentConfig(name="x", search=SearchConfig(tombstone_retention_days=19,
                                                    fine_grained_access_control=False))
    for config in ENVIRONMENTS.values():
        assert config.search.tombstone_retention_days > (config.queue.retention_days
                                                         + config.queue.dlq_retention_days)
