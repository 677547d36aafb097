"""Monitoring stack: every alarm, metric filter and the dashboard, in every environment; the
metric filters evaluated against the worker's real log output."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template

from config import AlarmThresholds
from environments import ENVIRONMENTS
from pipeline_constructs.pipeline_alarms import PipelineAlarms
from pipeline_constructs.worker_log_metrics import WorkerLogMetrics
from tests.support.cdk_app import REPO
from tests.support.filter_pattern import matches
from tests.support.templates import only_resource, resources_of_type
from tests.support.worker_log_scenario import PHRASE_KEY, run_worker_scenario

RUNBOOK_PHRASE = "Failed to delete message"


# --- reading the templates ---------------------------------------------------------------------

def output_value(synthesized, env: str, ref) -> object:
    """The value behind a cross-stack reference (Fn::GetStackOutput to another stack's Output)."""
    target = ref["Fn::GetStackOutput"]
    (stack,) = [s for s in synthesized.stages[env].node.children if getattr(s, "stack_name", None) == target["StackName"]]
    return synthesized.templates[env][stack.node.id]["Outputs"][target["OutputName"]]["Value"]


def topic_of(synthesized, env: str, refs: list) -> str:
    (ref,) = refs
    logical_id = output_value(synthesized, env, ref)["Ref"]
    assert logical_id in synthesized.templates[env]["Alerts"]["Resources"]
    return {"TopicsCritical": "critical", "TopicsWarning": "warning"}[logical_id[:-8]]


def dimension_value(synthesized, env: str, value) -> str:
    if isinstance(value, str):
        return value
    resolved = output_value(synthesized, env, value)
    logical_id = resolved["Fn::GetAtt"][0]
    assert resolved["Fn::GetAtt"][1] == "QueueName"
    return {"IngestQueuesMainQueue": "<main queue>",
            "IngestQueuesDeadLetterQueue": "<dlq>"}[logical_id[:-8]]


def queries(synthesized, env: str, props: dict) -> dict[str, tuple]:
    """An alarm's data as {id: (expression,)} or {id: (namespace, name, dimensions, stat, period)}."""
    out = {}
    for query in props["Metrics"]:
        if "Expression" in query:
            out[query["Id"]] = (query["Expression"], query["ReturnData"])
            continue
        stat = query["MetricStat"]
        metric = stat["Metric"]
        dims = {d["Name"]: dimension_value(synthesized, env, d["Value"])
                for d in metric.get("Dimensions", [])}
        out[query["Id"]] = (metric["Namespace"], metric["MetricName"], dims, stat["Stat"],
                            stat["Period"], query["ReturnData"])
    return out


def alarms(synthesized, env: str) -> dict[str, dict]:
    found = resources_of_type(synthesized.templates[env]["Monitoring"], "AWS::CloudWatch::Alarm")
    return {r["Properties"]["AlarmName"]: r["Properties"] for r in found.values()}


# --- what each environment must have ---------------------------------------------------------

def expected_alarms(env: str) -> dict[str, dict]:
    a = ENVIRONMENTS[env].alarms
    ns = f"FileSearch/Ingestion/{env}"
    main, dlq = {"QueueName": "<main queue>"}, {"QueueName": "<dlq>"}
    group = {"AutoScalingGroupName": f"file-search-{env}-fleet-workers"}
    window = a.undeleted_window_minutes * 60
    err = a.worker_error_rate_window_minutes * 60

    def one(namespace, name, dims, stat, period=60):
        return {"m1": (namespace, name, dims, stat, period, True)}

    gte, gt = "GreaterThanOrEqualToThreshold", "GreaterThanThreshold"
    table = {
        "dlq-not-empty": ("warning", a.dlq_warning_messages, gte, 1,
                          one("AWS/SQS", "ApproximateNumberOfMessagesVisible", dlq, "Maximum")),
        "dlq-filling": ("critical", a.dlq_critical_messages, gt, 1,
                        one("AWS/SQS", "ApproximateNumberOfMessagesVisible", dlq, "Maximum")),
        "oldest-message-age": ("critical", a.oldest_message_critical_seconds, gt, 1,
                               one("AWS/SQS", "ApproximateAgeOfOldestMessage", main, "Maximum")),
        "queue-depth": ("warning", a.queue_depth_warning_messages, gt, a.queue_depth_warning_minutes,
                        one("AWS/SQS", "ApproximateNumberOfMessagesVisible", main, "Maximum")),
        "received-not-deleted": ("warning", a.undeleted_ratio_warning, gt, 1, {
            "expr_1": (f"IF(received >= {a.undeleted_min_received}, "
                       "(received - FILL(deleted, 0)) / received, 0)", True),
            "received": ("AWS/SQS", "NumberOfMessagesReceived", main, "Sum", window, False),
            "deleted": ("AWS/SQS", "NumberOfMessagesDeleted", main, "Sum", window, False),
        }),
        "worker-error-rate": ("warning", a.worker_error_rate_warning_percent, gt, 1, {
            "expr_1": ("IF(attempts > 0, 100 * errors / attempts, 0)", True),
            "errors": ("FILL(failed, 0) + FILL(dlq, 0)", False),
            "attempts": ("FILL(processed, 0) + FILL(failed, 0) + FILL(dlq, 0)", False),
            "processed": (ns, "MessagesProcessed", {}, "Sum", err, False),
            "failed": (ns, "MessagesFailed", {}, "Sum", err, False),
            "dlq": (ns, "SentToDlq", {}, "Sum", err, False),
        }),
        "delete-failures": ("warning", a.delete_failures_warning, gte, 1,
                            one(ns, "DeleteFailures", {}, "Sum")),
        "in-service-below-desired": ("warning", 0, gt, a.in_service_below_desired_minutes, {
            "expr_1": ("desired - in_service", True),
            "desired": ("AWS/AutoScaling", "GroupDesiredCapacity", group, "Average", 60, False),
            "in_service": ("AWS/AutoScaling", "GroupInServiceInstances", group, "Average", 60, False),
        }),
        "silent-worker": ("critical", 1, gte, a.silent_worker_minutes, {
            "expr_1": ("IF(visible > 0 AND FILL(processed, 0) == 0, 1, 0)", True),
            "visible": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", main, "Minimum", 60, False),
            "processed": (ns, "MessagesProcessed", {}, "Sum", 60, False),
        }),
    }
    return {f"file-search-{env}-{short}": dict(zip(
        ("topic", "threshold", "comparison", "periods", "queries"), row, strict=True))
        for short, row in table.items()}


# --- alarms ----------------------------------------------------------------------------------

def test_exactly_the_expected_alarms_with_stable_names(synthesized, env):
    assert sorted(alarms(synthesized, env)) == sorted(expected_alarms(env))


@pytest.mark.parametrize("short", [
    "dlq-not-empty", "dlq-filling", "oldest-message-age", "queue-depth", "received-not-deleted",
    "worker-error-rate", "delete-failures", "in-service-below-desired", "silent-worker"])
def test_alarm_metric_statistic_threshold_period_and_topic(synthesized, env, short):
    name = f"file-search-{env}-{short}"
    props = alarms(synthesized, env)[name]
    want = expected_alarms(env)[name]
    assert queries(synthesized, env, props) == want["queries"]
    assert props["Threshold"] == want["threshold"]
    assert props["ComparisonOperator"] == want["comparison"]
    assert props["EvaluationPeriods"] == props["DatapointsToAlarm"] == want["periods"]
    # Every alarm chooses missing-data handling explicitly (the reasons are in pipeline_alarms.py).
    assert props["TreatMissingData"] == "notBreaching"
    assert topic_of(synthesized, env, props["AlarmActions"]) == want["topic"]
    assert topic_of(synthesized, env, props["OKActions"]) == want["topic"]
    assert props.get("ActionsEnabled", True) is True
    assert props["AlarmDescription"].endswith(f"Runbook: docs/alarms.md#runbook-{short}")
    assert " First: " in props["AlarmDescription"]
    assert len(props["AlarmDescription"]) <= 1024


def test_thresholds_follow_the_config_not_constants():
    """Same code, other numbers: a changed AlarmThresholds reaches the alarms."""
    stack = Stack(App(), "Probe")
    settings = AlarmThresholds(dlq_critical_messages=42, oldest_message_critical_seconds=120,
                           undeleted_min_received=3, silent_worker_minutes=7)
    metrics = WorkerLogMetrics(stack, "M", log_group=logs.LogGroup(stack, "L"), namespace="NS")
    PipelineAlarms(stack, "A", settings=settings, name_prefix="file-search-probe",
                   main_queue=sqs.Queue(stack, "Q"), dead_letter_queue=sqs.Queue(stack, "D"),
                   group_name="g", log_metrics=metrics,
                   critical=sns.Topic(stack, "C"), warning=sns.Topic(stack, "W"))
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::CloudWatch::Alarm", {
        "AlarmName": "file-search-probe-dlq-filling", "Threshold": 42})
    template.has_resource_properties("AWS::CloudWatch::Alarm", {
        "AlarmName": "file-search-probe-oldest-message-age", "Threshold": 120})
    template.has_resource_properties("AWS::CloudWatch::Alarm", {
        "AlarmName": "file-search-probe-silent-worker", "EvaluationPeriods": 7})
    template.has_resource_properties("AWS::CloudWatch::Alarm", {
        "AlarmName": "file-search-probe-received-not-deleted",
        "Metrics": Match.array_with([Match.object_like({
            "Expression": "IF(received >= 3, (received - FILL(deleted, 0)) / received, 0)"})])})


# --- metric filters --------------------------------------------------------------------------

EXPECTED_FILTERS = {
    # metric: (pattern, value, default)
    "MessagesProcessed": ('{ $.event = "message_processed" }', "1", 0),
    "MessagesFailed": ('{ $.event = "message_failed" }', "1", 0),
    "DeleteFailures": ('{ $.event = "delete_failed" }', "1", 0),
    "SentToDlq": ('{ $.event = "sent_to_dlq" }', "1", 0),
    "ProcessingDuration": ('{ $.event = "message_processed" && $.duration_ms >= 0 }',
                           "$.duration_ms", None),
}


def metric_filters(synthesized, env: str) -> dict[str, dict]:
    found = resources_of_type(synthesized.templates[env]["Monitoring"], "AWS::Logs::MetricFilter")
    out = {}
    for props in (r["Properties"] for r in found.values()):
        (transform,) = props["MetricTransformations"]
        out[transform["MetricName"]] = {**props, "transform": transform}
    return out


def test_each_filter_pattern_metric_and_log_group(synthesized, env):
    filters = metric_filters(synthesized, env)
    assert set(filters) == set(EXPECTED_FILTERS)
    fleet = synthesized.templates[env]["Fleet"]["Resources"]
    for name, (pattern, value, default) in EXPECTED_FILTERS.items():
        props = filters[name]
        assert props["FilterPattern"] == pattern
        assert props["transform"]["MetricNamespace"] == f"FileSearch/Ingestion/{env}"
        assert props["transform"]["MetricValue"] == value
        assert props["transform"].get("DefaultValue") == default
        log_group = output_value(synthesized, env, props["LogGroupName"])["Ref"]
        # The worker's own log group, the one its boot script ships stdout to.
        assert fleet[log_group]["Type"] == "AWS::Logs::LogGroup"
        assert log_group.startswith("WorkersWorkerLogs")


# The filter-pattern evaluator itself, against the user guide's examples.
GUIDE_EVENT = json.dumps({
    "eventType": "UpdateTrail", "sourceIPAddress": "123.123.123.123", "bandwidth": 80,
    "user": {"id": 1, "email": "John.Doe@example.com"}, "users": [{"id": 2}],
    "isTrue": True, "nothing": None})


@pytest.mark.parametrize("pattern,expected", [
    ('{ $.eventType = "UpdateTrail" }', True),
    ('{ $.eventType = "Update*" }', True),
    ('{ $.eventType = "Update" }', False),
    ('{ $.eventType != "UpdateTrail" }', False),
    ('{ $.sourceIPAddress != 123.123.* }', False),
    ('{ $.bandwidth > 75 }', True),
    ('{ $.bandwidth >= 80 && $.bandwidth < 81 }', True),
    ('{ $.bandwidth = 80.0 }', True),
    ('{ $.eventType > 1 }', False),               # a string is never a number
    ('{ $.missing != "x" }', False),              # an absent field fails every comparison
    ('{ $.user.id = 1 && $.users[0].id = 2 }', True),
    ('{ ($.user.id = 2) || ($.user.email = "John.Doe@example.com") }', True),
    ('{ $.isTrue IS TRUE }', True),
    ('{ $.nothing IS NULL }', True),
    ('{ $.user EXISTS }', True),
    ('{ $.absent NOT EXISTS }', True),
    ('"UpdateTrail"', True),
    ('"updatetrail"', False),                     # terms are case-sensitive
])
def test_filter_pattern_evaluator_on_documented_examples(pattern, expected):
    assert matches(pattern, GUIDE_EVENT) is expected


def test_json_patterns_never_match_plain_text():
    assert not matches('{ $.event = "delete_failed" }', "Failed to delete message 1: AccessDenied")
    assert matches('"Failed to delete message"', "Failed to delete message 1: AccessDenied")
    with pytest.raises(ValueError):
        matches('{ $.event ~ "x" }', "{}")


@pytest.fixture(scope="module")
def worker_run():
    return run_worker_scenario()


WHICH_FILTERS = {
    "message_processed": {"MessagesProcessed", "ProcessingDuration"},
    "message_failed": {"MessagesFailed"},
    "delete_failed": {"DeleteFailures"},
    "sent_to_dlq": {"SentToDlq"},
}


def test_filters_count_exactly_the_worker_lines_they_should(synthesized, worker_run):
    """Patterns from the synthesized template, log lines from the worker's own run."""
    filters = metric_filters(synthesized, "prod")
    patterns = {name: props["FilterPattern"] for name, props in filters.items()}
    assert worker_run.lines, "the worker wrote nothing"
    seen_events = set()
    for line in worker_run.lines:
        event = json.loads(line)["event"]
        seen_events.add(event)
        hit = {name for name, pattern in patterns.items() if matches(pattern, line)}
        assert hit == WHICH_FILTERS.get(event, set()), line
    assert set(WHICH_FILTERS) <= seen_events, "the scenario must produce every counted event"


def test_filter_counts_agree_with_the_workers_own_counters(synthesized, worker_run):
    patterns = {n: p["FilterPattern"] for n, p in metric_filters(synthesized, "dev").items()}

    def count(metric: str) -> int:
        return sum(matches(patterns[metric], line) for line in worker_run.lines)

    c = worker_run.counts
    outcomes = ("indexed", "unchanged", "test_event", "ignored", "metadata_only")
    assert count("MessagesProcessed") == sum(c.get(o, 0) for o in outcomes) >= 3
    assert count("SentToDlq") == c["sent_to_dlq"] == 1
    assert count("MessagesFailed") == c["transient_failures"] == 1
    assert count("DeleteFailures") == 1


def test_duration_value_is_a_number_on_every_line_the_filter_matches(synthesized, worker_run):
    pattern = metric_filters(synthesized, "staging")["ProcessingDuration"]["FilterPattern"]
    matched = [json.loads(line) for line in worker_run.lines if matches(pattern, line)]
    assert matched
    for record in matched:
        assert isinstance(record["duration_ms"], (int, float)) and record["duration_ms"] >= 0


def test_runbook_phrase_is_in_every_delete_failure_and_only_there(synthesized, worker_run):
    """The runbook searches for "Failed to delete message": every delete_failed line begins with
    it; a phrase filter would also have counted the processed object named after it."""
    failures = [json.loads(line) for line in worker_run.lines
                if json.loads(line)["event"] == "delete_failed"]
    assert failures and all(r["msg"].startswith(RUNBOOK_PHRASE) for r in failures)
    phrase_hits = [json.loads(line) for line in worker_run.lines
                   if matches(f'"{RUNBOOK_PHRASE}"', line)]
    assert {r["event"] for r in phrase_hits} == {"delete_failed", "message_processed"}
    assert any(r.get("key") == PHRASE_KEY for r in phrase_hits)
    pattern = metric_filters(synthesized, "dev")["DeleteFailures"]["FilterPattern"]
    assert [json.loads(line) for line in worker_run.lines if matches(pattern, line)] == failures


# --- dashboard -------------------------------------------------------------------------------

def dashboard_parts(synthesized, env: str) -> list:
    _, dashboard = only_resource(synthesized.templates[env]["Monitoring"], "AWS::CloudWatch::Dashboard")
    props = dashboard["Properties"]
    assert props["DashboardName"] == f"file-search-{env}-ingestion"
    return props["DashboardBody"]["Fn::Join"][1]


def dashboard_text(synthesized, env: str) -> str:
    parts = dashboard_parts(synthesized, env)
    return "".join(p if isinstance(p, str) else
                   "<" + dimension_value(synthesized, env, p) + ">" if "Fn::GetStackOutput" in p
                   else "<token>" for p in parts)


def test_dashboard_shows_queue_dlq_workers_and_fleet(synthesized, env):
    body = dashboard_text(synthesized, env)
    for metric in ("ApproximateNumberOfMessagesVisible", "ApproximateNumberOfMessagesNotVisible",
                   "ApproximateAgeOfOldestMessage", "NumberOfMessagesSent",
                   "NumberOfMessagesReceived", "NumberOfMessagesDeleted", "MessagesProcessed",
                   "MessagesFailed", "SentToDlq", "DeleteFailures", "ProcessingDuration",
                   "GroupDesiredCapacity", "GroupInServiceInstances"):
        assert f'"{metric}"' in body, metric
    assert "<<dlq>>" in body and "<<main queue>>" in body
    assert f"file-search-{env}-fleet-workers" in body
    assert '"stat":"p50"' in body and '"stat":"p90"' in body
    # The alarm status widget lists all nine alarms.
    alarm_refs = [p["Fn::GetAtt"][0] for p in dashboard_parts(synthesized, env)
                  if isinstance(p, dict) and "Fn::GetAtt" in p]
    assert sorted(alarm_refs) == sorted(
        resources_of_type(synthesized.templates[env]["Monitoring"], "AWS::CloudWatch::Alarm"))


# --- runbook ---------------------------------------------------------------------------------

def test_docs_have_a_runbook_step_and_the_threshold_for_every_alarm(synthesized):
    text = (REPO / "docs" / "alarms.md").read_text()
    for name, props in alarms(synthesized, "prod").items():
        anchor = props["AlarmDescription"].rsplit("#", 1)[1]
        assert f'<a id="{anchor}"></a>' in text, anchor
        assert f"`{name.replace('-prod-', '-<env>-')}`" in text, name
