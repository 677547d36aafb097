"""`ops redrive`: refuses into a duplicated pipeline; moves by reason without losing any."""

from __future__ import annotations

import json

from botocore.stub import Stubber

from ops.redrive import start_move_task


def bodies(messages):
    return sorted(m["Body"] for m in messages)


def test_redrive_refuses_while_a_second_notification_path_exists(deployed, ops):
    deployed.break_like_the_incident()
    depth = deployed.depth(deployed.dlq_url)
    code, out = ops("redrive", "--yes")
    assert code == 2
    assert "refusing to redrive" in out
    assert "queue configuration #3: s3:ObjectCreated:* no filter -> main queue" in out
    assert "EventBridge enabled on the bucket" in out
    assert "EventBridge rule default/s3-raw-files-to-ingest targets the main queue" in out
    assert deployed.depth(deployed.dlq_url) == depth


def test_dry_run_counts_and_moves_nothing(deployed, ops):
    for reason in ("object_missing", "object_missing", "index_rejected"):
        deployed.send_to_dlq(json.dumps({"reason": reason}), reason)
    code, out = ops("redrive", "--reason", "object_missing", "--dry-run")
    assert code == 0
    assert "DLQ holds 3 message(s); reasons in all:" in out
    assert ("dry run: would move, reasons object_missing:\n"
            "dry run:        2  object_missing\n"
            "dry run: would stay (poison or not selected; use --reason R or --all):\n"
            "dry run:        1  index_rejected\n"
            "dry run: nothing was moved") in out
    assert deployed.depth(deployed.dlq_url) == 3 and deployed.depth(deployed.queue_url) == 0


def test_redrive_by_reason_moves_exactly_those_with_their_attributes(deployed, ops):
    for i, reason in enumerate(("object_missing", "index_rejected", "object_missing", None)):
        deployed.send_to_dlq(json.dumps({"n": i}), reason)
    code, out = ops("redrive", "--reason", "object_missing", "--rate", "500", typed="dev\n")
    assert code == 0, out
    assert "Moved 2 message(s) with reasons object_missing; left 2 other(s) in the DLQ." in out
    moved = deployed.peek_all(deployed.queue_url)
    assert bodies(moved) == ['{"n": 0}', '{"n": 2}']
    assert {m["MessageAttributes"]["reason"]["StringValue"] for m in moved} == {"object_missing"}
    left = deployed.peek_all(deployed.dlq_url)  # released at once: all visible again
    assert bodies(left) == ['{"n": 1}', '{"n": 3}']


def test_redrive_needs_confirmation(deployed, ops):
    deployed.send_to_dlq("{}", "object_missing")
    code, out = ops("redrive", "--reason", "object_missing", tty=False)
    assert code == 2 and "pass --yes" in out
    assert deployed.depth(deployed.dlq_url) == 1 and deployed.depth(deployed.queue_url) == 0


def test_rate_is_bounded_by_what_sqs_allows(deployed, ops):
    code, out = ops("redrive", "--rate", "501", "--dry-run")
    assert code == 2 and out == ("error: argument --rate: 501 is out of range: must be between 1 and 500 "
                          "(SQS moves at most 500 messages/s) (see `python -m ops redrive "
                          "--help`)\n")


def test_the_server_side_move_task_call(deployed):
    """moto does not implement StartMessageMoveTask, so only the call's shape is checked here
    (botocore's Stubber validates it against the SQS API model); the rest of the default
    redrive path runs against moto in the tests above."""
    sqs = deployed.sqs
    with Stubber(sqs) as stub:
        stub.add_response("start_message_move_task", {"TaskHandle": "handle-1"}, {
            "SourceArn": deployed.dlq_arn, "DestinationArn": deployed.queue_arn,
            "MaxNumberOfMessagesPerSecond": 50})
        assert start_move_task(sqs, source_arn=deployed.dlq_arn,
                               destination_arn=deployed.queue_arn, rate=50) == "handle-1"
        stub.assert_no_pending_responses()


def test_the_reason_summary_comes_before_the_move_task_is_confirmed(deployed, ops):
    deployed.send_to_dlq("{}", "object_missing")
    deployed.send_to_dlq("{}", None)
    code, out = ops("redrive", "--all", tty=False)
    assert code == 2
    summary = out.index("DLQ holds 2 message(s); reasons in all:")
    plan = out.index("Start a move task of every DLQ message (2) to the main queue of dev, "
                     "at most 50 messages/s.")
    assert summary < plan < out.index("pass --yes")
    assert deployed.depth(deployed.dlq_url) == 2


def test_an_empty_dlq_has_nothing_to_redrive(deployed, ops):
    code, out = ops("redrive", tty=False)
    assert code == 0 and "DLQ is empty" in out and "Nothing to redrive." in out


def test_ctrl_c_finishes_the_message_in_hand_and_releases_the_rest(deployed, ops, monkeypatch):
    import os
    import signal

    from ops.aws import Aws

    for i in range(5):
        deployed.send_to_dlq(json.dumps({"n": i}), None)
    original = Aws.client

    def client(self, service):
        c = original(self, service)
        c.meta.events.register("after-call.sqs.SendMessage",
                               lambda **_: os.kill(os.getpid(), signal.SIGINT),
                               unique_id="ctrl-c")
        return c
    monkeypatch.setattr(Aws, "client", client)
    code, out = ops("redrive", "--yes", "--rate", "500")
    assert code == 130, out
    assert "Moved 1 message(s)" in out and "Interrupted (Ctrl-C)" in out
    assert "Traceback" not in out
    assert deployed.depth(deployed.queue_url) == 1
    assert len(deployed.peek_all(deployed.dlq_url)) == 4  # released: visible again at once
