"""`ops diagnose` against an environment deployed on moto from the real templates."""

from __future__ import annotations

import datetime
import json

from ops.messages import NO_REASON


def lines_by_check(out: str) -> dict[str, str]:
    checks = {}
    for line in out.splitlines():
        status, _, rest = line.partition(" ")
        if status in ("OK", "WARN", "FAIL"):
            checks[rest.strip().split(":", 1)[0]] = line
    return checks


ALL_CHECKS = {"backlog", "received-not-deleted", "dlq", "notification", "eventbridge-targets",
              "worker-log", "queue-attributes", "fleet", "alarms", "search-domain"}


def test_a_healthy_environment_is_all_ok(deployed, ops):
    code, out = ops("diagnose")
    checks = lines_by_check(out)
    assert set(checks) == ALL_CHECKS
    assert all(line.startswith("OK ") for line in checks.values()), out
    assert out.rstrip().endswith("dev: 0 FAIL, 0 WARN, 10 OK")
    assert code == 0


def test_the_incident_names_each_cause(deployed, ops):
    deployed.break_like_the_incident()
    code, out = ops("diagnose")
    checks = lines_by_check(out)
    assert code == 1
    for name in ("backlog", "received-not-deleted", "dlq", "notification", "eventbridge-targets",
                 "worker-log", "queue-attributes", "alarms"):
        assert checks[name].startswith("FAIL "), checks[name]
    assert "backlog growing and getting older" in checks["backlog"]
    assert "15 min ago 2 visible" in checks["backlog"]
    assert "200 received, 20 deleted" in checks["received-not-deleted"]
    assert "3 queue configurations to the main queue (declared 1)" in checks["notification"]
    assert "EventBridge is enabled on the bucket" in checks["notification"]
    assert "rule default/s3-raw-files-to-ingest" in checks["eventbridge-targets"]
    assert "delete_failed 2" in checks["worker-log"]
    assert "VisibilityTimeout: declared 900, live 300" in checks["queue-attributes"]
    for alarm in ("dlq-filling", "received-not-deleted", "delete-failures"):
        assert f"file-search-dev-{alarm} (docs/runbook.md#alarm-{alarm})" in checks["alarms"]
    # The DLQ's reasons: the worker's poison messages and the ones SQS dead-lettered.
    assert "DLQ filling" in checks["dlq"]
    assert "object_missing x2" in checks["dlq"] and "index_rejected x1" in checks["dlq"]
    assert NO_REASON in checks["dlq"]
    for line in checks.values():
        assert "[docs/runbook.md#check-" in line


def test_json_gives_the_same_checks(deployed, ops):
    deployed.break_like_the_incident()
    _, text = ops("diagnose")
    code, out = ops("diagnose", "--json")
    report = json.loads(out)
    assert code == 1 and report["status"] == "FAIL" and report["env"] == "dev"
    by_name = {c["name"]: c for c in report["checks"]}
    assert set(by_name) == ALL_CHECKS
    for name, line in lines_by_check(text).items():
        assert line.startswith(by_name[name]["status"])
        assert by_name[name]["runbook"].startswith("docs/runbook.md#check-")
    assert by_name["dlq"]["evidence"]["reasons"]["object_missing"] == 2
    assert by_name["worker-log"]["evidence"]["delete_failed"] == 2


def test_reading_the_dlq_reasons_puts_every_message_back(deployed, ops):
    for reason in ("object_missing", "malformed_json", None):
        deployed.send_to_dlq('{"Records": []}', reason)
    code, out = ops("diagnose")
    assert "object_missing x1, malformed_json x1" in lines_by_check(out)["dlq"]
    # Three messages are a level to look at, not a surge: the inflow alarm needs 20.
    assert lines_by_check(out)["dlq"].startswith("WARN dlq: DLQ not empty"), out
    attributes = deployed.attributes(deployed.dlq_url)
    # Visible again at once, none consumed...
    assert attributes["ApproximateNumberOfMessages"] == "3"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    # ...but each was received once more: nothing on SQS reads without receiving (the DLQ has no
    # redrive policy, so the count can move nothing; see docs/runbook.md).
    messages = deployed.peek_all(deployed.dlq_url)
    assert sorted(int(m["Attributes"]["ApproximateReceiveCount"]) for m in messages) == [2, 2, 2]


def test_a_dlq_with_its_own_redrive_policy_is_not_read(deployed, ops):
    deployed.send_to_dlq("{}", "object_missing")
    deployed.sqs.set_queue_attributes(QueueUrl=deployed.dlq_url, Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": deployed.queue_arn,
                                     "maxReceiveCount": 1})})
    code, out = ops("diagnose")
    checks = lines_by_check(out)
    assert checks["dlq"].startswith("FAIL ") and "has a redrive policy" in checks["dlq"]
    assert "dead-letter queue RedrivePolicy: declared None" in checks["queue-attributes"]
    assert deployed.attributes(deployed.dlq_url)["ApproximateNumberOfMessages"] == "1"
    messages = deployed.peek_all(deployed.dlq_url)
    assert messages[0]["Attributes"]["ApproximateReceiveCount"] == "1"  # only the peek above


def test_a_fleet_paused_or_short_of_instances_warns(deployed, ops):
    deployed.asg.suspend_processes(AutoScalingGroupName=deployed.group_name,
                                   ScalingProcesses=["Launch"])
    code, out = ops("diagnose")
    fleet = lines_by_check(out)["fleet"]
    assert fleet.startswith("WARN ") and "suspended processes: Launch" in fleet
    assert code == 0  # a warning is not a failure


def test_a_backlog_without_workers_warns(deployed, ops):
    deployed.asg.update_auto_scaling_group(AutoScalingGroupName=deployed.group_name,
                                           MinSize=0, DesiredCapacity=0)
    deployed.sqs.send_message(QueueUrl=deployed.queue_url, MessageBody="{}")
    checks = lines_by_check(ops("diagnose")[1])
    assert checks["fleet"].startswith("WARN ") and "no worker while 1 message(s) wait" in checks["fleet"]


def test_log_errors_other_than_delete_failures_warn(deployed, ops):
    deployed.log("message_failed", "consumption_paused", "message_processed")
    code, out = ops("diagnose")
    line = lines_by_check(out)["worker-log"]
    assert line.startswith("WARN ")
    assert "message_failed 1" in line and "consumption_paused 1" in line and "delete_failed 0" in line
    assert code == 0


def test_one_configuration_with_other_events_or_prefix_fails(deployed, ops):
    deployed.s3.put_bucket_notification_configuration(Bucket=deployed.bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": deployed.queue_arn, "Events": ["s3:ObjectCreated:Put"],
                                 "Filter": {"Key": {"FilterRules": [{"Name": "prefix",
                                                                     "Value": "raw/"}]}}}]})
    code, out = ops("diagnose")
    line = lines_by_check(out)["notification"]
    assert code == 1 and line.startswith("FAIL ")
    assert ("the queue configuration differs: live s3:ObjectCreated:Put prefix 'raw/' -> main queue, "
            "declared s3:ObjectCreated:*,s3:ObjectRemoved:* prefix 'raw-files/' -> main queue") in line


def test_the_daily_run_reads_no_dlq_message(deployed, ops):
    """--sample 0 (the scheduled workflow's read-only role): depth and age, nothing received."""
    deployed.send_to_dlq("{}", "object_missing")
    deployed.metric(deployed.dlq_url, "ApproximateAgeOfOldestMessage", [(2, 86400)])
    code, out = ops("diagnose", "--sample", "0")
    line = lines_by_check(out)["dlq"]
    assert line.startswith("WARN ") and "1 message(s)" in line and "oldest 86400 s" in line
    assert "reasons not read (--sample 0)" in line
    assert deployed.peek_all(deployed.dlq_url)[0]["Attributes"]["ApproximateReceiveCount"] == "1"


def _backlog_check(visible: int, visible_then: int, age_now: float, age_then: float):
    """The backlog check alone, on queue figures given here (no AWS needed)."""
    from types import SimpleNamespace

    from ops.diagnose import backlog
    now = datetime.datetime(2026, 12, 6, 3, 0, tzinfo=datetime.UTC)
    then = now - datetime.timedelta(minutes=15)
    context = SimpleNamespace(
        live=SimpleNamespace(main_attributes={"ApproximateNumberOfMessages": str(visible),
                                              "ApproximateNumberOfMessagesNotVisible": "0"}),
        now=now, window=15, threshold=lambda alarm: 300.0,
        metrics={"main_visible": [(then, float(visible_then)), (now, float(visible))],
                 "main_age": [(then, age_then), (now, age_now)]})
    return backlog(context)


def test_an_old_backlog_that_does_not_grow_is_not_called_growing():
    check = _backlog_check(visible=40, visible_then=40, age_now=900.0, age_then=600.0)
    assert check.status == "WARN" and check.summary.startswith("oldest message over the limit")
    assert "growing" not in check.summary


def test_a_growing_backlog_is_called_growing():
    check = _backlog_check(visible=80, visible_then=40, age_now=100.0, age_then=50.0)
    assert check.status == "WARN" and check.summary.startswith("backlog growing:")


def test_a_steady_dlq_level_warns_and_does_not_fail(deployed, ops):
    """dlq-filling pages on inflow: thirty messages that were already there 10 min ago only warn
    (diagnose used to compare the level with the alarm's threshold of 1 and failed at 2)."""
    deployed.send_to_dlq("{}", "object_missing")
    deployed.send_to_dlq("{}", "object_missing")
    deployed.metric(deployed.dlq_url, "ApproximateNumberOfMessagesVisible", [(8, 30), (1, 30)])
    code, out = ops("diagnose", "--sample", "0")
    line = lines_by_check(out)["dlq"]
    assert line.startswith("WARN dlq: DLQ not empty") and "inflow +0 in 5 min" in line, line
    assert code == 0


def test_dlq_inflow_fails_above_the_expected_poison_share_only(deployed, ops):
    deployed.send_to_dlq("{}", "object_missing")
    deployed.metric(deployed.dlq_url, "ApproximateNumberOfMessagesVisible", [(8, 5), (1, 30)])
    # 25 in 5 min out of 1000 sent: under the expected 5 % poison share (50), a warning.
    deployed.metric(deployed.queue_url, "NumberOfMessagesSent", [(2, 1000)])
    line = lines_by_check(ops("diagnose", "--sample", "0")[1])["dlq"]
    assert line.startswith("WARN dlq: DLQ not empty") and "inflow +25 in 5 min vs 1000 sent" in line
    # Out of 1000 + 100 sent: the expected share is 55, and 25 + 40 more is over it.
    deployed.metric(deployed.queue_url, "NumberOfMessagesSent", [(3, 100)])
    deployed.metric(deployed.dlq_url, "ApproximateNumberOfMessagesVisible", [(2, 70)])
    code, out = ops("diagnose", "--sample", "0", "--json")
    dlq = {c["name"]: c for c in json.loads(out)["checks"]}["dlq"]
    assert dlq["status"] == "FAIL" and dlq["summary"].startswith("DLQ filling"), dlq
    assert dlq["evidence"]["inflow"] == 65 and dlq["evidence"]["sent"] == 1100
    assert dlq["evidence"]["expected_poison"] == 55


def test_dlq_inflow_under_the_minimum_does_not_fail(deployed, ops):
    """19 new messages out of none sent: over any share, under dlq_inflow_min_messages (20)."""
    deployed.send_to_dlq("{}", "object_missing")
    deployed.metric(deployed.dlq_url, "ApproximateNumberOfMessagesVisible", [(1, 19)])
    line = lines_by_check(ops("diagnose", "--sample", "0")[1])["dlq"]
    assert line.startswith("WARN dlq: DLQ not empty") and "inflow +19 in 5 min vs 0 sent" in line
