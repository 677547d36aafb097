"""Monitoring stack: every alarm, metric filter and the dashboard, in every environment; the
metric filters evaluated against the worker's real log output."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template

from config import AlarmThresholds, SearchAlarmThresholds, SearchConfig
from environments import ENVIRONMENTS
from stacks.monitoring.alarm_factory import AlarmFactory
from stacks.monitoring.alarm_table import (
    COMPARISONS,
    CRITICAL_TOPIC,
    DLQ,
    DOMAIN,
    GROUP,
    MAIN_QUEUE,
    RULE,
    SOURCES,
    WARNING_TOPIC,
    WORKER,
    Math,
    Metric,
    environment_alarms,
    source_kind,
)
from stacks.monitoring.pipeline_alarms import PipelineAlarms
from stacks.monitoring.search_alarms import SearchDomainAlarms
from stacks.monitoring.worker_log_metrics import WorkerLogMetrics
from tests.support.cdk_app import REPO
from tests.support.filter_pattern import matches
from tests.support.templates import only_resource, resources_of_type
from tests.support.worker_log_scenario import PHRASE_KEY, run_worker_scenario

RUNBOOK_PHRASE = "Failed to delete message"


# --- reading the templates ---------------------------------------------------------------------

def output_value(synthesized, env: str, ref) -> object:
    """The value behind a cross-stack reference (Fn::GetStackOutput to another stack's Output)."""
    target = ref["Fn::GetStackOutput"]
    stack_id = synthesized.stack_ids(env)[target["StackName"]]
    return synthesized.templates[env][stack_id]["Outputs"][target["OutputName"]]["Value"]


def topic_of(synthesized, env: str, refs: list) -> str:
    (ref,) = refs
    logical_id = output_value(synthesized, env, ref)["Ref"]
    assert logical_id in synthesized.templates[env]["Alerts"]["Resources"]
    return {"TopicsCritical": "critical", "TopicsWarning": "warning"}[logical_id[:-8]]


def dimension_value(synthesized, env: str, value) -> str:
    if isinstance(value, str):
        return value
    if value == {"Ref": "AWS::AccountId"}:
        return "<account>"
    if "Ref" in value:  # a resource of the Monitoring stack itself: the change rules
        rule = synthesized.templates[env]["Monitoring"]["Resources"][value["Ref"]]
        return f"<rule {rule['Properties']['Name'].removeprefix(f'file-search-{env}-')}>"
    resolved = output_value(synthesized, env, value)
    if "Ref" in resolved:
        assert resolved["Ref"].startswith("SearchDomain")
        return "<domain>"
    logical_id = resolved["Fn::GetAtt"][0]
    if resolved["Fn::GetAtt"][1] == "TopicName":
        return {"TopicsCritical": "<critical topic>", "TopicsWarning": "<warning topic>"}[logical_id[:-8]]
    assert resolved["Fn::GetAtt"][1] == "QueueName"
    return {"IngestQueuesMainQueue": "<main queue>",
            "IngestQueuesDeadLetterQueue": "<dlq>"}[logical_id[:-8]]


def queries(synthesized, env: str, props: dict) -> dict[str, tuple]:
    """An alarm's data as {id: (expression,)} or {id: (namespace, name, dimensions, stat, period)};
    a single-metric alarm's one metric has the id "m1"."""
    out = {}
    if "Metrics" not in props:
        dims = {d["Name"]: dimension_value(synthesized, env, d["Value"])
                for d in props.get("Dimensions", [])}
        return {"m1": (props["Namespace"], props["MetricName"], dims, props["Statistic"],
                       props["Period"], True)}
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

def expected_queries(env: str, spec: Metric | Math) -> dict[str, tuple]:
    """A row's metric as `queries` reads it from the template: the sources as the dimensions the
    constructs must give them (the fleet's group by name, the others by what they refer to)."""
    dimensions = {
        MAIN_QUEUE: {"QueueName": "<main queue>"}, DLQ: {"QueueName": "<dlq>"},
        GROUP: {"AutoScalingGroupName": f"file-search-{env}-fleet-workers"}, WORKER: {},
        DOMAIN: {"DomainName": "<domain>", "ClientId": "<account>"},
        CRITICAL_TOPIC: {"TopicName": "<critical topic>"},
        WARNING_TOPIC: {"TopicName": "<warning topic>"},
    }

    def metric(m: Metric, top: bool) -> tuple:
        dims = ({"RuleName": f"<{m.source}>"} if source_kind(m.source) == RULE
                else dimensions[m.source])
        namespace = SOURCES[source_kind(m.source)].replace("<env>", env)
        return (namespace, m.name, dims, m.statistic, m.period, top)

    def used(math: Math) -> dict[str, tuple]:
        out = {}
        for key, inner in math.using.items():
            if isinstance(inner, Math):
                out[key] = (inner.expression, False)
                out.update(used(inner))
            else:
                out[key] = metric(inner, False)
        return out

    if isinstance(spec, Metric):
        return {"m1": metric(spec, True)}
    return {"expr_1": (spec.expression, True), **used(spec)}


def expected_alarms(env: str) -> dict[str, dict]:
    """Every row of the environment's alarm table (stacks/monitoring/alarm_table.py), as the
    template must show it."""
    return {f"file-search-{env}-{row.short}": {
        "topic": row.topic, "threshold": row.threshold,
        "comparison": COMPARISONS[row.comparison], "periods": row.evaluation_periods,
        "datapoints": row.datapoints, "missing": row.missing,
        "queries": expected_queries(env, row.metric),
        "description": row.description(env),
    } for row in environment_alarms(ENVIRONMENTS[env])}


# --- alarms ----------------------------------------------------------------------------------

def test_exactly_the_expected_alarms_with_stable_names(synthesized, env):
    assert sorted(alarms(synthesized, env)) == sorted(expected_alarms(env))


def test_alarm_metric_statistic_threshold_period_and_topic(synthesized, env):
    for name, want in expected_alarms(env).items():
        props = alarms(synthesized, env)[name]
        assert queries(synthesized, env, props) == want["queries"], name
        assert props["Threshold"] == want["threshold"], name
        assert props["ComparisonOperator"] == want["comparison"], name
        assert props["EvaluationPeriods"] == want["periods"], name
        assert props["DatapointsToAlarm"] == want["datapoints"], name
        # Every alarm chooses missing-data handling explicitly (reasons next to each alarm).
        assert props["TreatMissingData"] == want["missing"], name
        assert topic_of(synthesized, env, props["AlarmActions"]) == want["topic"], name
        assert topic_of(synthesized, env, props["OKActions"]) == want["topic"], name
        assert props.get("ActionsEnabled", True) is True
        # The runbook link and the ops command: tests/infra/test_runbook_links.py.
        assert props["AlarmDescription"] == want["description"], name
        assert len(props["AlarmDescription"]) <= 1024


def test_no_incoming_messages_is_on_in_prod_only(synthesized):
    on = {env for env in ENVIRONMENTS
          if f"file-search-{env}-no-incoming-messages" in alarms(synthesized, env)}
    assert on == {"prod"}


def test_an_imported_domain_keeps_the_alarms_whose_metrics_it_publishes():
    """Volume size and masters of an existing domain are unknown: no storage or master alarm."""
    stack = Stack(App(), "Probe")
    domain = opensearch.Domain.from_domain_attributes(
        stack, "D", domain_arn="arn:aws:es:eu-west-1:111122223333:domain/existing",
        domain_endpoint="https://search-existing.eu-west-1.es.amazonaws.com")
    factory = AlarmFactory(environment="probe", name_prefix="file-search-probe")
    SearchDomainAlarms(stack, "S", domain=domain, factory=factory,
                       search=SearchConfig(existing_domain_arn="arn:aws:es:eu-west-1:111122223333:domain/existing",
                                           existing_domain_endpoint="https://search-existing",
                                           master_node_count=3),
                       settings=SearchAlarmThresholds(), critical=sns.Topic(stack, "C"),
                       warning=sns.Topic(stack, "W"))
    assert sorted(factory.alarms) == [
        "search-cluster-red", "search-cluster-yellow", "search-cpu", "search-jvm-pressure",
        "search-snapshot-failed", "search-write-rejected", "search-writes-blocked"]
    Template.from_stack(stack).has_resource_properties("AWS::CloudWatch::Alarm", {
        "MetricName": "ClusterStatus.red",
        # The alarms' account: an imported domain's metrics are only visible to alarms in its
        # own account and region.
        "Dimensions": Match.array_equals([{"Name": "ClientId", "Value": {"Ref": "AWS::AccountId"}},
                                          {"Name": "DomainName", "Value": "existing"}])})


def test_thresholds_follow_the_config_not_constants():
    """Same code, other numbers: a changed AlarmThresholds reaches the alarms."""
    stack = Stack(App(), "Probe")
    settings = AlarmThresholds(dlq_inflow_min_messages=42, oldest_message_delay_critical_seconds=120,
                               undeleted_min_received=3, silent_worker_minutes=7,
                               dlq_age_critical_hours=100, no_incoming_messages_hours=6)
    metrics = WorkerLogMetrics(stack, "M", log_group=logs.LogGroup(stack, "L"), namespace="NS")
    PipelineAlarms(stack, "A", settings=settings,
                   factory=AlarmFactory(environment="probe", name_prefix="file-search-probe"),
                   longest_job_seconds=200, backlog_per_instance_target=30,
                   main_queue=sqs.Queue(stack, "Q"), dead_letter_queue=sqs.Queue(stack, "D"),
                   group_name="g", log_metrics=metrics,
                   critical=sns.Topic(stack, "C"), warning=sns.Topic(stack, "W"))
    template = Template.from_stack(stack)
    for name, props in (("dlq-filling", {"Metrics": Match.array_with([Match.object_like({
                            "Expression": "IF(DIFF(FILL(dlq, 0)) >= 42 AND DIFF(FILL(dlq, 0)) "
                                          "> 0.05 * FILL(sent, 0), 1, 0)"})])}),
                        ("oldest-message-age", {"Threshold": 320}),
                        ("silent-worker", {"EvaluationPeriods": 7}),
                        ("queue-depth", {"Metrics": Match.array_with([Match.object_like({
                            "Expression": "IF(visible > 60 * FILL(in_service, 0) AND age > 300, "
                                          "1, 0)"})])}),
                        ("dlq-expiring", {"Threshold": 360000}),
                        ("no-incoming-messages", {"EvaluationPeriods": 6, "TreatMissingData": "breaching"})):
        template.has_resource_properties("AWS::CloudWatch::Alarm",
                                         {"AlarmName": f"file-search-probe-{name}", **props})
    template.has_resource_properties("AWS::CloudWatch::Alarm", {
        "AlarmName": "file-search-probe-received-not-deleted",
        "Metrics": Match.array_with([Match.object_like({
            "Expression": "IF(received >= 3, (received - FILL(deleted, 0)) / received, 0)"})])})


def test_free_storage_threshold_is_a_share_of_the_configured_volume(synthesized):
    for env, config in ENVIRONMENTS.items():
        props = alarms(synthesized, env)[f"file-search-{env}-search-free-storage"]
        assert props["Threshold"] == config.search.volume_size_gib * 1024 * 0.25


# --- metric filters --------------------------------------------------------------------------

EXPECTED_FILTERS = {
    # metric: (pattern, value, default)
    "MessagesProcessed": ('{ $.event = "message_processed" }', "1", 0),
    "MessagesFailed": ('{ $.event = "message_failed" }', "1", 0),
    "DeleteFailures": ('{ $.event = "delete_failed" }', "1", 0),
    "DeletesAbandoned": ('{ $.event = "delete_abandoned" }', "1", 0),
    "SentToDlq": ('{ $.event = "sent_to_dlq" }', "1", 0),
    "ConsumptionPaused": ('{ $.event = "consumption_paused" }', "1", 0),
    "WorkerStarts": ('{ $.event = "worker_started" || $.event = "config_invalid" || '
                     '$.event = "startup_failed" }', "1", 0),
    "WorkersAlive": ('{ $.event = "worker_alive" }', "1", 0),
    "WorkerStalled": ('{ $.event = "worker_stalled" }', "1", 0),
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
    "worker_started": {"WorkerStarts"},
    "message_processed": {"MessagesProcessed", "ProcessingDuration"},
    "message_failed": {"MessagesFailed"},
    "delete_failed": {"DeleteFailures"},
    "sent_to_dlq": {"SentToDlq"},
}
# Written once a wall-clock minute (at :30, liveness.py), so a run crossing :30 writes one and
# another does not: counted when present, never required (tests/worker/test_liveness.py
# produces them on purpose).
LIVENESS_FILTERS = {
    "worker_alive": {"WorkersAlive"},
    "worker_stalled": {"WorkerStalled"},
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
        assert hit == {**WHICH_FILTERS, **LIVENESS_FILTERS}.get(event, set()), line
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
                   "MessagesFailed", "SentToDlq", "DeleteFailures", "DeletesAbandoned",
                   "ConsumptionPaused", "WorkerStarts", "ProcessingDuration",
                   "GroupDesiredCapacity", "GroupInServiceInstances"):
        assert f'"{metric}"' in body, metric
    assert "<<dlq>>" in body and "<<main queue>>" in body
    assert f"file-search-{env}-fleet-workers" in body
    assert '"stat":"p50"' in body and '"stat":"p90"' in body
    # The alarm status widget lists every alarm.
    alarm_refs = [p["Fn::GetAtt"][0] for p in dashboard_parts(synthesized, env)
                  if isinstance(p, dict) and "Fn::GetAtt" in p]
    assert sorted(alarm_refs) == sorted(
        resources_of_type(synthesized.templates[env]["Monitoring"], "AWS::CloudWatch::Alarm"))


# --- runbook ---------------------------------------------------------------------------------

def test_docs_list_every_alarm_with_its_runbook_link(synthesized):
    """docs/alarms.md's table names every alarm of every environment and links the runbook
    section its description links (docs/runbook.md#alarm-<short>)."""
    text = (REPO / "docs" / "alarms.md").read_text()
    for env in ENVIRONMENTS:
        for name in alarms(synthesized, env):
            short = name.removeprefix(f"file-search-{env}-")
            assert f"`file-search-<env>-{short}`" in text, name
            assert f"(runbook.md#alarm-{short})" in text, short


# --- events the worker does not emit yet ------------------------------------------------------

# The worker's JSON shape (worker_asset/README.md "Logs") for the events the new filters count
# and that the worker is about to emit (contract in docs/alarms.md "Worker events"): written by
# hand until the worker emits them; each must hit exactly its filter.
HAND_WRITTEN = {
    '{"ts": "2026-11-23T10:00:00.000Z", "level": "ERROR", "event": "delete_abandoned", '
    '"msg": "Failed to delete message 1f2e after 3 attempts: AccessDenied", '
    '"message_id": "1f2e", "code": "AccessDenied", "attempts": 3}': {"DeletesAbandoned"},
    '{"ts": "2026-11-23T10:00:00.000Z", "level": "WARNING", "event": "consumption_paused", '
    '"msg": "Consumption paused: index unavailable", "dependency": "index", '
    '"error": "ConnectionError"}': {"ConsumptionPaused"},
    '{"ts": "2026-11-23T10:01:00.000Z", "level": "WARNING", "event": "consumption_paused", '
    '"msg": "Consumption still paused", "dependency": "bucket", "error": "AccessDenied", '
    '"paused_seconds": 60}': {"ConsumptionPaused"},
    '{"ts": "2026-11-23T10:03:00.000Z", "level": "INFO", "event": "consumption_resumed", '
    '"msg": "Consumption resumed", "dependency": "index", "paused_seconds": 180}': set(),
    '{"ts": "2026-11-23T10:00:00.000Z", "level": "ERROR", "event": "config_invalid", '
    '"msg": "WORKER_QUEUE_URL is not set"}': {"WorkerStarts"},
    '{"ts": "2026-11-23T10:00:00.000Z", "level": "ERROR", "event": "startup_failed", '
    '"msg": "boto3/botocore is not importable"}': {"WorkerStarts"},
}


@pytest.mark.parametrize("line,expected", HAND_WRITTEN.items())
def test_new_filters_match_the_contracted_events_exactly(synthesized, line, expected):
    patterns = {n: p["FilterPattern"] for n, p in metric_filters(synthesized, "prod").items()}
    assert {name for name, pattern in patterns.items() if matches(pattern, line)} == expected


def test_the_abandoned_delete_line_carries_the_runbook_phrase():
    (line,) = [line for line in HAND_WRITTEN if '"delete_abandoned"' in line]
    assert json.loads(line)["msg"].startswith(RUNBOOK_PHRASE)


def test_the_liveness_lines_the_worker_writes_hit_exactly_their_filter(synthesized):
    """worker_alive and worker_stalled as ingest_worker.liveness writes them (#22)."""
    import io
    import threading

    from ingest_worker.liveness import AliveReporter, Liveness
    from ingest_worker.logs import JsonLog

    class Clock:
        t = 0.0

        def now(self) -> float:
            return self.t

    clock, wall, stream = Clock(), [0.0], io.StringIO()
    liveness = Liveness(clock=clock, stall_seconds=120, round_limit_seconds=900)
    reporter = AliveReporter(log=JsonLog("INFO", stream=stream), liveness=liveness,
                             instance_id="i-0123456789abcdef0", wall=lambda: wall[0])
    alive = threading.Thread(target=threading.Event().wait, args=(5,), daemon=True)
    alive.start()
    for minute, idle in ((0, 0), (1, 60), (2, 200)):
        wall[0], clock.t = 60.0 * minute + 30, float(idle)
        reporter.tick([alive], paused=False)
    lines = stream.getvalue().splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["worker_alive", "worker_stalled"]
    patterns = {n: p["FilterPattern"] for n, p in metric_filters(synthesized, "prod").items()}
    assert [{n for n, p in patterns.items() if matches(p, line)} for line in lines] == [
        {"WorkersAlive"}, {"WorkerStalled"}]
