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
    assert "QueueConfigurations" not in now
    assert "EventBridgeConfiguration" in now  # only the queue configurations were removed
    assert "warning: EventBridge stays enabled on the bucket" in out

    code, out = ops("resume", "--yes")
    assert code == 0, out
    restored = deployed.s3.get_bucket_notification_configuration(Bucket=deployed.bucket)
    restored.pop("ResponseMetadata")
    for configuration in restored["QueueConfigurations"]:
        configuration.pop("Id")
    assert restored == deployed.declared_notification  # the declared one: EventBridge off too
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
