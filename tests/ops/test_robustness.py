"""Expected failures end in one `error:` line and exit 2, never a traceback; sends are refused
into a drifted pipeline; replay is idempotent."""

from __future__ import annotations

import json

import pytest

BAD_INPUT = [
    ("diagnose", "--window", "0"),
    ("diagnose", "--window", "-5"),
    ("diagnose", "--sample", "-1"),
    ("diagnose", "--window", "ten"),
    ("drift", "--no-such-option"),
    ("pause", "--assembly", "cdk.out"),  # pause reads no templates
    ("resume", "extra"),
    ("redrive", "--rate", "0"),
    ("redrive", "--sample", "0"),
    ("redrive", "--reason", "x", "--all"),
    ("redrive", "--force", ""),
    ("purge", "--queue", "both"),
    ("purge",),
    ("replay",),
    ("reconcile", "--page-size", "0"),
    ("reconcile", "--max-deletes", "-1"),
    ("index", "frobnicate"),
    ("index", "status", "--settle", "5"),  # status never waits
    ("index", "init", "--yes", "--settle", "0"),
    ("index", "migrate", "--settle", "-1", "--yes"),
    ("index", "rollback", "--settle", "x", "--yes"),
    ("search", "words", "--size", "0"),
    ("search",),
    ("test-alarm", "--yes"),  # it changes alarms and back; nothing to confirm
    ("test-alarm", "--assembly", "cdk.out"),
    ("drift", "--window", "5"),
    ("index", "init", "--yes", "--search-endpoint", "not a url"),  # was a signing traceback
    ("search", "words", "--search-endpoint", "not a url"),
    ("reconcile", "--search-endpoint", "opensearch.local"),
    ("diagnose", "--endpoint-url", "not a url"),  # was a ValueError traceback from boto
]

# Bad input found only against the environment: one `error:` line and exit 2 all the same.
BAD_INPUT_AT_RUNTIME = [
    ("purge", "--queue", "dlq", "--yes", "--archive-dir", "{file}"),
    ("purge", "--queue", "dlq", "--yes", "--archive-dir", "{file}/sub"),
    ("pause", "--stop-notifications", "--yes", "--archive-dir", "{file}"),
    ("replay", "{missing}", "--yes"),
    ("replay", "{file}", "--yes"),
]


@pytest.mark.parametrize("argv", BAD_INPUT + BAD_INPUT_AT_RUNTIME, ids=lambda a: " ".join(a))
def test_bad_input_is_one_line_and_exit_2(ops, argv, request, tmp_path):
    usage = argv in BAD_INPUT
    if not usage:  # the check runs after the environment is found
        request.getfixturevalue("deployed")
        (tmp_path / "file").write_text("not a directory, not an archive")
        argv = tuple(a.format(file=tmp_path / "file", missing=tmp_path / "missing.jsonl")
                     for a in argv)
    code, out = ops(*argv, tty=False)
    assert code == 2, out
    assert len(out.splitlines()) == 1 and out.startswith("error: "), out
    if usage:
        assert out.rstrip().endswith("--help`)"), out  # names where the usage is
    assert "Traceback" not in out


def test_replay_of_a_directory_a_binary_file_and_a_cut_archive(deployed, ops, tmp_path):
    code, out = ops("replay", str(tmp_path), "--yes")
    assert code == 2 and out == f"error: {tmp_path} is a directory; give one .jsonl archive " \
        "written by `ops purge`\n"
    binary = tmp_path / "x.bin"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    code, out = ops("replay", str(binary), "--yes")
    assert code == 2 and "is not a text (UTF-8) archive" in out and len(out.splitlines()) == 1
    cut = tmp_path / "cut.jsonl"
    cut.write_text(json.dumps({"format": "ops-queue-archive/1", "env": "dev", "queue": "dlq"})
                   + "\n" + json.dumps({"MessageId": "a", "Body": "{}"}) + "\n"
                   + '{"MessageId": "b", "Bo')
    code, out = ops("replay", str(cut), "--yes")
    assert code == 2 and "line 3 (the last line: cut short?) is not JSON" in out


def test_replay_twice_refuses_and_resume_sends_only_the_rest(deployed, ops, tmp_path):
    archive = tmp_path / "a.jsonl"
    lines = [json.dumps({"format": "ops-queue-archive/1", "env": "dev", "queue": "dlq"})]
    lines += [json.dumps({"MessageId": f"m{i}", "Body": json.dumps({"i": i})}) for i in range(3)]
    archive.write_text("\n".join(lines) + "\n")
    (tmp_path / "a.jsonl.sent").write_text("m0\n")  # a replay that stopped after one
    code, out = ops("replay", str(archive), "--yes")
    assert code == 2 and "already replayed (1 of 3 sent" in out and "--resume" in out
    assert deployed.depth(deployed.dlq_url) == 0
    code, out = ops("replay", str(archive), "--resume", "--yes")
    assert code == 0, out
    assert deployed.depth(deployed.dlq_url) == 2
    code, out = ops("replay", str(archive), "--resume", "--yes")
    assert code == 0 and "nothing to do" in out
    assert deployed.depth(deployed.dlq_url) == 2


def test_a_visibility_drift_blocks_redrive_but_not_its_dry_run(deployed, ops):
    deployed.send_to_dlq("{}", None)
    deployed.send_to_dlq("{}", "malformed_json")
    deployed.sqs.set_queue_attributes(QueueUrl=deployed.queue_url,
                                      Attributes={"VisibilityTimeout": "30"})
    code, out = ops("redrive", "--yes")
    assert code == 2 and "refusing to redrive" in out
    assert "main queue VisibilityTimeout: declared 900, live 30" in out
    code, out = ops("redrive", "--dry-run")
    assert code == 0, out
    assert "dry run: would move, reasons index_rejected, max_receive_count, object_unreadable:" \
        in out and "dry run:        1  malformed_json" in out
    assert "a real run would refuse" in out
    code, out = ops("redrive", "--yes", "--force", "the visibility fix is rolling out")
    assert code == 0, out
    assert "--force given (the visibility fix is rolling out)" in out
    assert deployed.depth(deployed.queue_url) == 1 and deployed.depth(deployed.dlq_url) == 1


def test_replay_into_main_refuses_while_a_second_path_exists(deployed, ops, tmp_path):
    deployed.break_like_the_incident()
    archive = tmp_path / "a.jsonl"
    archive.write_text(json.dumps({"format": "ops-queue-archive/1", "env": "dev",
                                   "queue": "dlq"}) + "\n"
                       + json.dumps({"MessageId": "m", "Body": "{}"}) + "\n")
    depth = deployed.depth(deployed.queue_url)
    code, out = ops("replay", str(archive), "--queue", "main", "--yes")
    assert code == 2 and "refusing to replay into the main queue" in out
    assert "EventBridge rule default/s3-raw-files-to-ingest targets the main queue" in out
    assert deployed.depth(deployed.queue_url) == depth


def test_an_endpoint_that_does_not_answer_like_aws(ops, search):
    import io

    from ops.cli import main

    out = io.StringIO()
    code = main(["drift", "--env", "dev", "--endpoint-url", search.url, "--region",
                 "us-east-1"], stdout=out)
    assert code == 2 and "Traceback" not in out.getvalue()
    assert len(out.getvalue().splitlines()) == 1 and out.getvalue().startswith("error: ")
