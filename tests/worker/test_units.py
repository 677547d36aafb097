"""Unit tests: configuration, event parsing, extraction, logs, signing, lifecycle."""
from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from ingest_worker import config, events, extract, lifecycle
from ingest_worker.__main__ import main
from ingest_worker.logs import JsonLog
from ingest_worker.opensearch import IndexError_, OpenSearch
from ingest_worker.worker import doc_id, retry_delay

BASE_ENV = {"WORKER_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/main",
            "WORKER_DLQ_URL": "https://sqs.eu-west-1.amazonaws.com/1/dlq",
            "WORKER_OPENSEARCH_ENDPOINT": "https://search.example.com",
            "AWS_REGION": "eu-west-1"}


def test_defaults_match_the_documented_interface():
    cfg = config.load(BASE_ENV)
    assert (cfg.opensearch_index, cfg.opensearch_auth, cfg.prefix) == (
        "file-index", "sigv4", "raw-files/")
    assert (cfg.concurrency, cfg.max_object_bytes, cfg.visibility_timeout, cfg.wait_time,
            cfg.shutdown_timeout, cfg.log_level) == (8, 10485760, 900, 20, 120, "INFO")
    assert cfg.lifecycle_hook_name is None and cfg.aws_endpoint_url is None
    names = [n for n, _, _ in config.ENV_VARS]
    assert len(names) == len(set(names)) == 16
    assert {n for n, required, _ in config.ENV_VARS if required} == set(BASE_ENV)


@pytest.mark.parametrize("name,value,needle", [
    ("WORKER_QUEUE_URL", "", "WORKER_QUEUE_URL is required"),
    ("WORKER_DLQ_URL", "sqs-dlq", "WORKER_DLQ_URL='sqs-dlq'"),
    ("WORKER_CONCURRENCY", "0", "WORKER_CONCURRENCY='0' is out of range"),
    ("WORKER_WAIT_TIME_SECONDS", "21", "WORKER_WAIT_TIME_SECONDS='21'"),
    ("WORKER_MAX_OBJECT_BYTES", "1e6", "WORKER_MAX_OBJECT_BYTES='1e6' is not an integer"),
    ("WORKER_OPENSEARCH_AUTH", "basic", "WORKER_OPENSEARCH_AUTH='basic'"),
    ("WORKER_LOG_LEVEL", "verbose", "WORKER_LOG_LEVEL='verbose'"),
    ("WORKER_OPENSEARCH_INDEX", "File Index", "WORKER_OPENSEARCH_INDEX='File Index'"),
    ("WORKER_LIFECYCLE_HOOK_NAME", "drain", "WORKER_ASG_NAME must be set"),
    ("WORKER_ASG_NAME", "asg", "WORKER_LIFECYCLE_HOOK_NAME must be set"),
    ("AWS_REGION", "", "AWS_REGION is required"),
])
def test_invalid_values_name_the_variable(name, value, needle):
    with pytest.raises(config.ConfigError, match=needle.replace("(", r"\(")):
        config.load({**BASE_ENV, name: value})


def test_main_exits_2_on_bad_config_and_help_lists_every_variable(capsys):
    assert main([], environ={**BASE_ENV, "WORKER_VISIBILITY_TIMEOUT_SECONDS": "-1"}) == 2
    out = capsys.readouterr()
    line = json.loads(out.out.strip().splitlines()[-1])
    assert line["event"] == "config_invalid" and line["level"] == "ERROR"
    assert "WORKER_VISIBILITY_TIMEOUT_SECONDS='-1'" in out.err
    with pytest.raises(SystemExit) as exc:
        main(["--help"], environ=BASE_ENV)
    assert exc.value.code == 0
    helptext = capsys.readouterr().out
    assert all(name in helptext for name, _, _ in config.ENV_VARS)
    assert main(["--check-config"], environ=BASE_ENV) == 0
    assert json.loads(capsys.readouterr().out)["queue_url"] == BASE_ENV["WORKER_QUEUE_URL"]


def _record(key, name="ObjectCreated:Put"):
    return {"eventSource": "aws:s3", "eventName": name,
            "s3": {"bucket": {"name": "b"}, "object": {"key": key, "size": 3, "eTag": "e"}}}


def test_parse_decodes_keys_and_keeps_every_record():
    body = json.dumps({"Records": [_record("raw-files%2Fa+b%2B%E2%9C%93.txt"),
                                   _record("raw-files/x", "ObjectRemoved:Delete")]})
    parsed = events.parse_body(body)
    assert [r.key for r in parsed.records] == ["raw-files/a b+\u2713.txt", "raw-files/x"]
    assert [events.wanted(r, "raw-files/") for r in parsed.records] == [True, False]
    assert not events.wanted(parsed.records[0], "other/")
    assert events.parse_body('{"Event": "s3:TestEvent", "Bucket": "b"}').test_event


@pytest.mark.parametrize("body,reason", [
    ("nope", "malformed_json"), ("[1]", "not_s3_event"), ("{}", "not_s3_event"),
    (json.dumps({"Records": [{"eventSource": "aws:sns"}]}), "not_s3_event"),
    (json.dumps({"Records": [{"eventSource": "aws:s3", "s3": {}}]}), "not_s3_event"),
])
def test_parse_rejects_poison(body, reason):
    with pytest.raises(events.PoisonMessage) as exc:
        events.parse_body(body)
    assert exc.value.reason == reason


@pytest.mark.parametrize("key,data,expected", [
    ("a.txt", b"plain \xc3\xa9", "plain \u00e9"),
    ("a.md", b"\xef\xbb\xbf# bom", "# bom"),
    ("a.csv", b"\xe9t\xe9", "\u00e9t\u00e9"),  # not UTF-8: latin-1 fallback
    ("a.json", b'{"k": "\\u00e9"}', '{"k": "\u00e9"}'),
    ("a.json", b"{broken", "{broken"),
    ("a.html", b"<html><script>x()</script><p>Hello &amp; bye</p></html>", "Hello & bye"),
    ("a.XML", b"<r><a>one</a><b>two</b></r>", "one two"),
    ("a.txt", b"bin\x00ary", None),
    ("a.pdf", b"%PDF", None),
])
def test_extract_text(key, data, expected):
    assert extract.extract_text(key, data) == expected


def test_json_log_lines_have_the_stable_fields():
    stream = io.StringIO()
    log = JsonLog("INFO", stream=stream)
    log.debug("hidden", "below threshold")
    log.warning("message_failed", "retry", message_id="m", transient=True, receive_count=2)
    (line,) = stream.getvalue().splitlines()
    rec = json.loads(line)
    assert rec["ts"].endswith("Z") and "T" in rec["ts"]
    assert (rec["level"], rec["event"], rec["msg"], rec["transient"]) == (
        "WARNING", "message_failed", "retry", True)


def test_ids_and_backoff():
    assert doc_id("b", "k") == doc_id("b", "k") != doc_id("b", "k2")
    assert [retry_delay(n, 900) for n in (1, 2, 3, 4, 9)] == [2, 4, 8, 16, 256]
    assert retry_delay(3, 5) == 5 and retry_delay(20, 900) == 256


def test_requests_are_sigv4_signed_for_es(fake_os):
    import botocore.credentials

    creds = botocore.credentials.Credentials("AKIDEXAMPLE", "secret", "token")
    client = OpenSearch(fake_os.url, "file-index", "sigv4", "eu-west-1", credentials=creds)
    assert client.ensure_index() is True
    assert client.ensure_index() is False  # resource_already_exists_exception
    headers = {k.lower(): v for k, v in fake_os.requests[-1]["headers"].items()}
    assert headers["authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/es/aws4_request" in headers["authorization"]
    assert headers["x-amz-security-token"] == "token"
    unsigned = OpenSearch(fake_os.url, "file-index", "sigv4", "eu-west-1", credentials=None)
    with pytest.raises(IndexError_):
        unsigned.ensure_index()


def test_client_errors_are_classified(fake_os):
    client = OpenSearch(fake_os.url, "file-index", "none", "eu-west-1")
    fake_os.fail_next(1, 503)
    with pytest.raises(IndexError_) as exc:
        client.ensure_index()
    assert exc.value.transient and exc.value.code == "unavailable_shards_exception"
    with pytest.raises(IndexError_) as exc:  # index does not exist yet
        client.mget_sources(["x"], ["etag"])
    assert exc.value.code == "index_not_found_exception" and not exc.value.transient
    down = OpenSearch("http://127.0.0.1:9", "file-index", "none", "eu-west-1", timeout=1)
    with pytest.raises(IndexError_) as exc:
        down.ensure_index()
    assert exc.value.transient and exc.value.code == "ConnectionError"


def test_fake_answers_external_version_conflicts_like_opensearch(fake_os):
    def bulk(version, vtype="external"):
        line = json.dumps({"index": {"_index": "i", "_id": "1", "version": version,
                                     "version_type": vtype}})
        _, body = fake_os.dispatch("POST", "/_bulk", {"Content-Type": "application/x-ndjson"},
                                   f"{line}\n{{}}\n".encode())
        return body["errors"], body["items"][0]["index"]["status"]

    assert bulk(5) == (False, 201)
    assert bulk(5) == (True, 409)
    assert bulk(5, "external_gte") == (False, 200)
    assert bulk(4, "external_gte") == (True, 409)
    status, body = fake_os.dispatch("GET", "/i/_doc/1", {}, b"")
    assert status == 200 and body["_version"] == 5
    assert fake_os.dispatch("GET", "/i/_doc/2", {}, b"")[0] == 404
    assert fake_os.dispatch("POST", "/_bulk", {"Content-Type": "application/json"},
                            b'{"index": {}}')[0] == 400  # no trailing newline


class _Imds(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_PUT(self):
        assert self.path == "/latest/api/token"
        assert self.headers["X-aws-ec2-metadata-token-ttl-seconds"]
        self._answer(b"tok")

    def do_GET(self):
        ok = self.headers.get("X-aws-ec2-metadata-token") == "tok"
        self._answer(b"i-0123456789abcdef0" if ok else b"", 200 if ok else 401)

    def _answer(self, body, status=200):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_lifecycle_action_is_completed_with_the_imdsv2_instance_id():
    from botocore.session import get_session
    from botocore.stub import Stubber

    server = HTTPServer(("127.0.0.1", 0), _Imds)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = get_session().create_client("autoscaling", region_name="eu-west-1",
                                         aws_access_key_id="a", aws_secret_access_key="b")
    stream = io.StringIO()
    with Stubber(client) as stub:
        stub.add_response("complete_lifecycle_action", {}, {
            "LifecycleHookName": "drain", "AutoScalingGroupName": "asg",
            "LifecycleActionResult": "CONTINUE", "InstanceId": "i-0123456789abcdef0"})
        lifecycle.complete(client, "drain", "asg", JsonLog("INFO", stream=stream),
                           imds_url=f"http://127.0.0.1:{server.server_address[1]}")
        stub.assert_no_pending_responses()
    server.shutdown()
    assert json.loads(stream.getvalue())["event"] == "lifecycle_completed"
