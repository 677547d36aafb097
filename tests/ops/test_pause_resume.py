"""`ops pause` / `ops resume`: the emergency stop keeps every message and restores exactly."""

from __future__ import annotations

import json

from ops.fleet import PAUSED_PROCESSES


def group(env):
    return env.asg.describe_auto_scaling_groups(
        AutoScalingGroupNames=[env.group_name])["AutoScalingGroups"][0]


def sizes(g):
    return g["MinSize"], g["DesiredCapacity"], g["MaxSize"]


def suspended(g):
    return sorted(p["ProcessName"] for p in g["SuspendedProcesses"])


def test_pause_refuses_without_a_terminal_or_yes(deployed, ops):
    before = group(deployed)
    code, out = ops("pause", tty=False)
    assert code == 2
    assert "stdin is not a terminal; pass --yes" in out and "Nothing was changed" in out
    after = group(deployed)
    assert sizes(after) == sizes(before) and after["Tags"] == [] and suspended(after) == []


def test_pause_refuses_a_wrong_answer(deployed, ops):
    code, out = ops("pause", typed="prod\n")
    assert code == 2 and "not confirmed" in out
    assert sizes(group(deployed)) == (deployed.min_size, deployed.desired, deployed.max_size)


def test_pause_then_resume_restores_exactly_and_keeps_messages(deployed, ops):
    # Something an operator had suspended before the pause stays suspended after resume.
    deployed.asg.suspend_processes(AutoScalingGroupName=deployed.group_name,
                                   ScalingProcesses=["AZRebalance"])
    before = group(deployed)
    code, out = ops("pause", typed="dev\n")
    assert code == 0, out
    paused = group(deployed)
    assert sizes(paused) == (0, 0, deployed.max_size)
    assert paused["Instances"] == []
    assert suspended(paused) == sorted(PAUSED_PROCESSES)
    tags = {t["Key"]: t["Value"] for t in paused["Tags"]}
    assert tags["ops:paused:MinSize"] == str(before["MinSize"])
    assert tags["ops:paused:DesiredCapacity"] == str(before["DesiredCapacity"])
    assert tags["ops:paused:MaxSize"] == str(before["MaxSize"])
    assert tags["ops:paused:suspended-before"] == "AZRebalance"

    # Notifications keep arriving and wait in the queue.
    deployed.s3.put_object(Bucket=deployed.bucket, Key="raw-files/while-paused.txt", Body=b"x")
    assert deployed.depth(deployed.queue_url) == 1

    code, out = ops("pause", "--yes")
    assert code == 2 and "already paused" in out

    code, out = ops("resume", "--yes")
    assert code == 0, out
    after = group(deployed)
    assert sizes(after) == sizes(before)
    assert suspended(after) == ["AZRebalance"]
    assert after["Tags"] == []
    assert deployed.depth(deployed.queue_url) == 1

    code, out = ops("resume", "--yes")
    assert code == 2 and "was not paused by ops" in out


def test_stop_notifications_saves_the_live_one_and_resume_puts_back_the_declared(
        deployed, ops, tmp_path):
    deployed.break_like_the_incident()
    live_before = deployed.s3.get_bucket_notification_configuration(Bucket=deployed.bucket)
    live_before.pop("ResponseMetadata")
    code, out = ops("pause", "--stop-notifications", "--yes", "--archive-dir", str(tmp_path))
    assert code == 0, out
    saved, = tmp_path.glob("dev-notification-*.json")
    assert json.loads(saved.read_text()) == json.loads(json.dumps(live_before))
    assert f"Saved the live notification configuration to {saved}" in out
    now = deployed.s3.get_bucket_notification_configuration(Bucket=deployed.bucket)
    assert "QueueConfigurations" not in now and "EventBridgeConfiguration" not in now
    # The plan being confirmed lists every path into the queue.
    plan = out[:out.index("(--yes given")]
    for path in ("remove queue configuration #3: s3:ObjectCreated:* no filter -> main queue",
                 "turn off EventBridge on the bucket",
                 "disable EventBridge rule default/s3-raw-files-to-ingest"):
        assert path in plan
    assert deployed.events.describe_rule(Name="s3-raw-files-to-ingest")["State"] == "DISABLED"

    code, out = ops("resume", "--yes")
    assert code == 0, out
    restored = deployed.s3.get_bucket_notification_configuration(Bucket=deployed.bucket)
    restored.pop("ResponseMetadata")
    for configuration in restored["QueueConfigurations"]:
        configuration.pop("Id")
    assert restored == deployed.declared_notification  # the declared one: EventBridge off too
    # The rule the pause disabled is enabled again: resume undoes exactly what pause did.
    assert deployed.events.describe_rule(Name="s3-raw-files-to-ingest")["State"] == "ENABLED"
    code, out = ops("drift")
    assert "notification" not in out and "EventBridge on the bucket" not in out


def test_uploads_are_not_queued_while_notifications_are_stopped(deployed, ops, tmp_path):
    code, out = ops("pause", "--stop-notifications", "--yes", "--archive-dir", str(tmp_path))
    assert code == 0, out
    assert "warning" not in out
    deployed.s3.put_object(Bucket=deployed.bucket, Key="raw-files/not-queued.txt", Body=b"x")
    assert deployed.depth(deployed.queue_url) == 0
    assert ops("resume", "--yes")[0] == 0
    deployed.drain(deployed.queue_url)  # the s3:TestEvent of the new configuration
    deployed.s3.put_object(Bucket=deployed.bucket, Key="raw-files/queued.txt", Body=b"x")
    assert deployed.depth(deployed.queue_url) == 1


def test_a_failure_at_any_step_of_pause_is_undone(deployed, ops, tmp_path, monkeypatch):
    """A failure injected at each AWS call of `pause --stop-notifications` leaves the group,
    bucket and rule as they were, with no ops:paused* tag."""
    from botocore.exceptions import ClientError

    from ops.aws import Aws

    deployed.break_like_the_incident()
    before = group(deployed)
    live = deployed.s3.get_bucket_notification_configuration(Bucket=deployed.bucket)
    for operation in ("CreateOrUpdateTags", "PutBucketNotificationConfiguration", "DisableRule",
                      "SuspendProcesses", "UpdateAutoScalingGroup"):
        original = Aws.client

        def client(self, service, operation=operation, original=original):
            c = original(self, service)
            calls = {"n": 0}

            def fail(**kwargs):
                calls["n"] += 1
                if calls["n"] == 1:  # the first call (the undo then succeeds)
                    raise ClientError({"Error": {"Code": "Injected", "Message": operation}},
                                      operation)
            c.meta.events.register(f"before-call.*.{operation}", fail, unique_id="inject")
            return c
        monkeypatch.setattr(Aws, "client", client)
        code, out = ops("pause", "--stop-notifications", "--yes",
                        "--archive-dir", str(tmp_path / operation))
        monkeypatch.setattr(Aws, "client", original)
        assert code == 2, out
        assert "every change was undone" in out and "Traceback" not in out, out
        after = group(deployed)
        assert sizes(after) == sizes(before) and suspended(after) == suspended(before)
        assert after["Tags"] == [], operation
        now = deployed.s3.get_bucket_notification_configuration(Bucket=deployed.bucket)
        assert len(now.get("QueueConfigurations", [])) == len(live["QueueConfigurations"])
        assert deployed.events.describe_rule(Name="s3-raw-files-to-ingest")["State"] == "ENABLED"
    code, out = ops("pause", "--stop-notifications", "--yes", "--archive-dir", str(tmp_path))
    assert code == 0, out


def test_an_unwritable_archive_dir_changes_nothing(deployed, ops, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code, out = ops("pause", "--stop-notifications", "--yes", "--archive-dir", str(blocker))
    assert code == 2 and len(out.splitlines()) == 1
    assert out.startswith(f"error: --archive-dir {blocker} is not a writable directory")
    assert group(deployed)["Tags"] == [] and suspended(group(deployed)) == []


def inject(monkeypatch, failing):
    """Make the given calls fail: {operation: {n, ...}} fails the n-th call of that operation
    (counted across every client the CLI makes). Returns a function that removes the injection."""
    from botocore.exceptions import ClientError

    from ops.aws import Aws

    original = Aws.client
    seen: dict[str, int] = {}

    def client(self, service, original=original):
        c = original(self, service)
        if getattr(c, "_injected", False):
            return c
        for operation, calls in failing.items():
            def fail(operation=operation, calls=calls, **kwargs):
                seen[operation] = seen.get(operation, 0) + 1
                if seen[operation] in calls:
                    raise ClientError({"Error": {"Code": "Injected", "Message": operation}},
                                      operation)
            c.meta.events.register(f"before-call.*.{operation}", fail,
                                   unique_id=f"inject-{operation}")
        c._injected = True
        return c
    monkeypatch.setattr(Aws, "client", client)
    return lambda: monkeypatch.setattr(Aws, "client", original)


def fleet_line(out):
    return next(line for line in out.splitlines() if line.split()[1:2] == ["fleet:"])


def test_a_failure_writing_the_paused_marker_is_rolled_back(deployed, ops, tmp_path, monkeypatch):
    """The last step of pause (the ops:paused marker, the second CreateOrUpdateTags) fails: every
    earlier change is undone, diagnose sees no pause, resume has nothing to do, pause works."""
    deployed.break_like_the_incident()
    before = group(deployed)
    live = deployed.s3.get_bucket_notification_configuration(Bucket=deployed.bucket)
    restore = inject(monkeypatch, {"CreateOrUpdateTags": {2}})
    code, out = ops("pause", "--stop-notifications", "--yes", "--archive-dir", str(tmp_path))
    restore()
    assert code == 2, out
    assert "pause failed at 'mark the group paused'" in out, out
    assert "every change was undone" in out and "Traceback" not in out, out
    after = group(deployed)
    assert sizes(after) == sizes(before) and suspended(after) == suspended(before)
    assert after["Tags"] == []
    now = deployed.s3.get_bucket_notification_configuration(Bucket=deployed.bucket)
    assert now.get("QueueConfigurations") == live.get("QueueConfigurations")
    assert ("EventBridgeConfiguration" in now) == ("EventBridgeConfiguration" in live)
    assert deployed.events.describe_rule(Name="s3-raw-files-to-ingest")["State"] == "ENABLED"

    _, out = ops("diagnose")
    line = fleet_line(out)
    assert "paused" not in line and "partway" not in line, line
    code, out = ops("resume", "--yes")
    assert code == 2 and "was not paused by ops" in out and "Traceback" not in out, out
    code, out = ops("pause", "--stop-notifications", "--yes", "--archive-dir", str(tmp_path))
    assert code == 0, out


def test_a_failure_in_pause_and_in_its_undo_is_finished_by_resume(deployed, ops, tmp_path,
                                                                  monkeypatch):
    """The marker fails and so does every undo: the group keeps ops:paused:* without ops:paused
    and everything stays changed. diagnose FAILs naming the partial pause; a second pause
    refuses; resume restores sizes, processes, the notification and the rule, and drops the tags."""
    deployed.break_like_the_incident()
    before = group(deployed)
    restore = inject(monkeypatch, {"CreateOrUpdateTags": {2}, "UpdateAutoScalingGroup": {2},
                                   "ResumeProcesses": {1}, "EnableRule": {1},
                                   "PutBucketNotificationConfiguration": {2}, "DeleteTags": {1}})
    code, out = ops("pause", "--stop-notifications", "--yes", "--archive-dir", str(tmp_path))
    restore()
    assert code == 2, out
    assert "could not undo" in out and "keeps its ops:paused:* tags" in out, out
    assert "Traceback" not in out
    partial = group(deployed)
    tags = {t["Key"]: t["Value"] for t in partial["Tags"]}
    assert "ops:paused" not in tags and "ops:paused:MinSize" in tags, tags
    assert sizes(partial) == (0, 0, deployed.max_size)
    assert set(PAUSED_PROCESSES) <= set(suspended(partial))
    assert deployed.events.describe_rule(Name="s3-raw-files-to-ingest")["State"] == "DISABLED"
    stopped = deployed.s3.get_bucket_notification_configuration(Bucket=deployed.bucket)
    assert not stopped.get("QueueConfigurations") and "EventBridgeConfiguration" not in stopped

    code, out = ops("diagnose")
    assert code == 1
    line = fleet_line(out)
    assert line.startswith("FAIL fleet") and "a pause stopped partway" in line, line
    assert "bucket notifications removed" in line and "s3-raw-files-to-ingest" in line, line
    assert "ops resume" in line
    code, out = ops("pause", "--yes")
    assert code == 2 and "stopped partway" in out and "Nothing was changed" in out, out

    code, out = ops("resume", "--yes")
    assert code == 0, out
    assert "a pause that stopped partway" in out
    after = group(deployed)
    assert sizes(after) == sizes(before) and suspended(after) == suspended(before)
    assert after["Tags"] == []
    assert deployed.events.describe_rule(Name="s3-raw-files-to-ingest")["State"] == "ENABLED"
    now = deployed.s3.get_bucket_notification_configuration(Bucket=deployed.bucket)
    assert len(now.get("QueueConfigurations", [])) >= 1  # the declared one is back
    _, out = ops("diagnose")
    assert "partway" not in fleet_line(out)
