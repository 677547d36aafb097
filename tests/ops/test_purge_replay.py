"""`ops purge` archives before it deletes; `ops replay` sends the archive back."""

from __future__ import annotations

import json


def test_purge_archives_every_message_then_replay_restores_them(deployed, ops, tmp_path):
    deployed.sqs.send_message(QueueUrl=deployed.dlq_url, MessageBody='{"a": 1}', MessageAttributes={
        "reason": {"DataType": "String", "StringValue": "object_missing"},
        "receive_count": {"DataType": "Number", "StringValue": "3"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xffbinary"}})
    for i in range(12):
        deployed.send_to_dlq(json.dumps({"i": i}), None)
    before = {m["Body"]: m["MessageAttributes"] if "MessageAttributes" in m else {}
              for m in deployed.peek_all(deployed.dlq_url)}

    code, out = ops("purge", "--queue", "dlq", "--archive-dir", str(tmp_path), typed="dev\n")
    assert code == 0, out
    archive, = tmp_path.glob("dev-dlq-*.jsonl")
    assert f"Archived 13 message(s) to {archive}" in out
    assert deployed.depth(deployed.dlq_url) == 0
    header, *lines = [json.loads(line) for line in archive.read_text().splitlines()]
    assert header["env"] == "dev" and header["queue"] == "dlq"
    assert sorted(m["Body"] for m in lines) == sorted(before)

    code, out = ops("replay", str(archive), "--yes")
    assert code == 0, out
    assert f"Sent 13 message(s) to the dlq queue (recorded in {archive}.sent)." in out
    after = {m["Body"]: m.get("MessageAttributes", {}) for m in deployed.peek_all(deployed.dlq_url)}
    assert after.keys() == before.keys()
    attributes = after['{"a": 1}']
    assert attributes["reason"]["StringValue"] == "object_missing"
    assert attributes["receive_count"] == {"DataType": "Number", "StringValue": "3"}
    assert attributes["blob"]["BinaryValue"] == b"\x00\xffbinary"


def test_purge_refuses_without_confirmation(deployed, ops, tmp_path):
    deployed.send_to_dlq("{}", None)
    code, out = ops("purge", "--queue", "dlq", "--archive-dir", str(tmp_path), tty=False)
    assert code == 2 and "pass --yes" in out
    assert deployed.depth(deployed.dlq_url) == 1
    assert list(tmp_path.iterdir()) == []


def test_purge_in_prod_needs_confirm_env(make_env, ops, tmp_path):
    prod = make_env("prod")
    prod.send_to_dlq("{}", None)
    code, out = ops("purge", "--queue", "dlq", "--yes", "--archive-dir", str(tmp_path), env="prod")
    assert code == 2 and "--confirm-env prod" in out
    assert prod.depth(prod.dlq_url) == 1
    code, out = ops("purge", "--queue", "dlq", "--yes", "--archive-dir", str(tmp_path),
                    "--confirm-env", "prod", env="prod")
    assert code == 0, out
    assert prod.depth(prod.dlq_url) == 0
    assert len(list(tmp_path.glob("prod-dlq-*.jsonl"))) == 1


def test_replay_refuses_an_archive_of_another_environment(deployed, ops, tmp_path):
    archive = tmp_path / "x.jsonl"
    archive.write_text(json.dumps({"format": "ops-queue-archive/1", "env": "prod",
                                   "queue": "dlq"}) + "\n")
    code, out = ops("replay", str(archive), "--yes")
    assert code == 2 and "was written in prod, not dev" in out


def test_purge_of_the_main_queue_says_what_it_could_not_take(deployed, ops, tmp_path):
    for i in range(3):
        deployed.sqs.send_message(QueueUrl=deployed.queue_url, MessageBody=json.dumps({"i": i}))
    held = deployed.sqs.receive_message(QueueUrl=deployed.queue_url, MaxNumberOfMessages=1,
                                        VisibilityTimeout=600)["Messages"]  # a worker's
    code, out = ops("purge", "--queue", "main", "--yes", "--archive-dir", str(tmp_path))
    assert code == 0, out
    # The plan warns that workers in service compete for the queue (run ops pause first).
    assert "worker(s) are in service and receive from the main queue" in out
    assert "Archived 2 message(s)" in out
    assert "1 message(s) remain: in flight at another consumer" in out
    archive, = tmp_path.glob("dev-main-*.jsonl")
    bodies = sorted(json.loads(line)["Body"] for line in archive.read_text().splitlines()[1:])
    assert held[0]["Body"] not in bodies and len(bodies) == 2


def test_purge_of_the_main_queue_without_workers_does_not_warn(deployed, ops, tmp_path):
    deployed.asg.update_auto_scaling_group(AutoScalingGroupName=deployed.group_name,
                                           MinSize=0, DesiredCapacity=0)
    deployed.sqs.send_message(QueueUrl=deployed.queue_url, MessageBody="{}")
    code, out = ops("purge", "--queue", "main", "--yes", "--archive-dir", str(tmp_path))
    assert code == 0, out
    assert "in service" not in out and "Archived 1 message(s)" in out
