"""The deploy-time handler that applies OpenSearch's security settings, against a local HTTP
stub that records what a domain would receive (OpenSearch cannot run here)."""

from __future__ import annotations

import json
import threading

import pytest

from harness.http_server import BackgroundServer, QuietHandler
from stacks.fleet.search_security import security_requests
from stacks.fleet.search_security_handler import respond
from stacks.fleet.search_security_handler.index import on_event

WORKER_ROLE = "arn:aws:iam::123456789012:role/file-search-prod-fleet-WorkerRole-ABC"


class SecurityApiStub:
    """Answers every request with `status` and records (method, path, headers, body)."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.alias_exists = False
        self.received: list[dict] = []
        stub = self

        class Handler(QuietHandler):
            def _answer(self) -> None:
                body = self.read_body()
                stub.received.append({"method": self.command, "path": self.path,
                                      "headers": dict(self.headers),
                                      "body": json.loads(body) if body else None})
                status = stub.status
                if self.command == "GET":  # the read alias: missing, unless told it exists
                    status = 200 if stub.alias_exists else 404
                self.reply(status, json.dumps({"status": "OK" if status == 200 else "FORBIDDEN"}).encode())

            do_PUT = do_PATCH = do_GET = _answer

        self._server = BackgroundServer(Handler).start()
        self.url = self._server.url

    def close(self) -> None:
        self._server.stop()


@pytest.fixture
def credentials(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDMASTERROLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def event(request_type: str, endpoint: str) -> dict:
    requests = security_requests(index_name="file-index", worker_role_arn=WORKER_ROLE)
    return {"RequestType": request_type, "PhysicalResourceId": f"{endpoint}/_plugins/_security",
            "ResourceProperties": {"Endpoint": endpoint, "Requests": json.dumps(requests)}}


def test_create_sends_the_signed_requests_in_order(credentials):
    stub = SecurityApiStub()
    try:
        result = on_event(event("Create", stub.url + "/"), None)
    finally:
        stub.close()
    assert result == {"PhysicalResourceId": f"{stub.url}/_plugins/_security"}
    assert [(r["method"], r["path"]) for r in stub.received] == [
        ("PUT", "/_plugins/_security/api/roles/file-index-writer"),
        ("PUT", "/_plugins/_security/api/rolesmapping/file-index-writer"),
        ("PATCH", "/_plugins/_security/api/audit"),
        ("PUT", "/_index_template/file-index"),
        ("GET", "/_alias/file-index"),
        ("PUT", "/file-index-v1"),
    ]
    assert stub.received[1]["body"]["backend_roles"] == [WORKER_ROLE]
    for request in stub.received:
        authorization = request["headers"]["Authorization"]
        assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDMASTERROLE/")
        assert "/eu-west-1/es/aws4_request" in authorization
        assert request["headers"]["Content-Type"] == "application/json"


def test_update_sends_them_again_and_delete_sends_nothing(credentials):
    stub = SecurityApiStub()
    try:
        on_event(event("Update", stub.url), None)
        on_event(event("Delete", stub.url), None)
    finally:
        stub.close()
    assert len(stub.received) == 6  # Update: the same requests again (GET: the alias check)


def test_a_refused_request_fails_the_deployment_naming_it(credentials):
    stub = SecurityApiStub(status=403)
    try:
        with pytest.raises(RuntimeError, match=r"PUT /_plugins/_security/api/roles/file-index-writer answered 403"):
            on_event(event("Create", stub.url), None)
    finally:
        stub.close()
    assert len(stub.received) == 1, "stops at the first refusal"


def test_a_redeploy_after_a_migration_creates_no_index_and_moves_no_alias(credentials):
    stub = SecurityApiStub()
    stub.alias_exists = True
    try:
        on_event(event("Update", stub.url), None)
    finally:
        stub.close()
    sent = [(r["method"], r["path"]) for r in stub.received]
    assert ("PUT", "/_index_template/file-index") in sent  # the template follows the repo
    assert ("GET", "/_alias/file-index") in sent
    assert not any(path.startswith("/file-index-v") for _, path in sent)


# --- the entry point: it answers CloudFormation itself (no provider framework) --------------

class ResponseBucketStub:
    """CloudFormation's pre-signed response URL: records every PUT (headers, JSON body)."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.answered = threading.Event()
        stub = self

        class Handler(QuietHandler):
            def do_PUT(self) -> None:
                stub.received.append({"path": self.path, "headers": dict(self.headers),
                                      "body": json.loads(self.read_body())})
                self.reply(200, b"")
                stub.answered.set()

        self._server = BackgroundServer(Handler).start()
        self.url = f"{self._server.url}/response-key?X-Amz-Signature=abc"

    def close(self) -> None:
        self._server.stop()


class LambdaContext:
    def __init__(self, seconds_left: float = 120) -> None:
        self.seconds_left = seconds_left
        self.log_stream_name = "2026/12/06/[$LATEST]abc"

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds_left * 1000)


def cloudformation_event(request_type: str, endpoint: str, response_url: str) -> dict:
    request = {**event(request_type, endpoint), "ResponseURL": response_url,
               "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/file-search-prod-fleet/1",
               "RequestId": "request-1", "LogicalResourceId": "SearchSecuritySettingsF00"}
    if request_type == "Create":  # CloudFormation sends an id only once the resource has one
        del request["PhysicalResourceId"]
    return request


@pytest.fixture
def response_bucket():
    bucket = ResponseBucketStub()
    yield bucket
    bucket.close()


def test_success_is_put_to_the_response_url_unsigned_and_typeless(credentials, response_bucket):
    domain = SecurityApiStub()
    try:
        result = respond.handler(cloudformation_event("Create", domain.url, response_bucket.url),
                                 LambdaContext())
    finally:
        domain.close()
    assert result is None
    assert len(domain.received) == 6
    (answer,) = response_bucket.received
    assert answer["path"] == "/response-key?X-Amz-Signature=abc"
    # The URL is pre-signed without a content type; S3 refuses a PUT that adds one.
    assert answer["headers"].get("Content-Type", "") == ""
    assert "Authorization" not in answer["headers"]
    assert answer["body"] == {
        "Status": "SUCCESS", "Reason": "", "PhysicalResourceId": f"{domain.url}/_plugins/_security",
        "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/file-search-prod-fleet/1",
        "RequestId": "request-1", "LogicalResourceId": "SearchSecuritySettingsF00"}


def test_a_refused_request_is_answered_failed_naming_it(credentials, response_bucket):
    domain = SecurityApiStub(status=403)
    try:
        respond.handler(cloudformation_event("Create", domain.url, response_bucket.url), LambdaContext())
    finally:
        domain.close()
    (answer,) = response_bucket.received
    assert answer["body"]["Status"] == "FAILED"
    assert answer["body"]["Reason"].startswith(
        "RuntimeError: PUT /_plugins/_security/api/roles/file-index-writer answered 403")
    assert answer["body"]["Reason"].endswith("(log stream 2026/12/06/[$LATEST]abc)")
    assert answer["body"]["PhysicalResourceId"] == "request-1", "a failed Create has no id yet"


def test_an_unreachable_domain_is_answered_failed(credentials, response_bucket):
    closed = SecurityApiStub()
    closed.close()  # nothing listens there any more
    respond.handler(cloudformation_event("Update", closed.url, response_bucket.url), LambdaContext())
    (answer,) = response_bucket.received
    assert answer["body"]["Status"] == "FAILED"
    assert "URLError" in answer["body"]["Reason"]


def test_the_timeout_coming_is_answered_failed_once(credentials, response_bucket, monkeypatch):
    """Lambda would stop the function without a word: FAILED goes out first, and the late
    result is not sent a second time."""
    def stuck(event, context):
        assert response_bucket.answered.wait(timeout=30), "no FAILED before the timeout"
        return {"PhysicalResourceId": "late"}

    monkeypatch.setattr(respond, "on_event", stuck)
    respond.handler(cloudformation_event("Update", "https://unused", response_bucket.url),
                    LambdaContext(seconds_left=respond.SAFETY_MARGIN_SECONDS))
    (answer,) = response_bucket.received
    assert answer["body"]["Status"] == "FAILED"
    assert "before the function's timeout" in answer["body"]["Reason"]


def test_the_old_provider_frameworks_delete_gets_the_result_back(credentials):
    """CDK's provider framework (before #24) put "..." in place of the URL and answered
    CloudFormation itself: its last call, the old resource's Delete, needs the result."""
    result = respond.handler(cloudformation_event("Delete", "https://unused", "..."), LambdaContext())
    assert result == {"PhysicalResourceId": "https://unused/_plugins/_security"}
def test_without_the_security_plugin_the_handler_creates_the_index_and_aliases_on_the_fake(
        credentials):
    """dev (no fine-grained access control): no security-plugin request; the template, v1 and
    both aliases on an empty domain (the fake OpenSearch), and nothing moved on a redeploy."""
    from harness.fake_opensearch import FakeOpenSearch

    requests = security_requests(index_name="file-index", worker_role_arn=WORKER_ROLE,
                                 security_plugin=False)
    assert not any("_plugins/_security" in r["path"] for r in requests)
    fake = FakeOpenSearch().start()
    try:
        properties = {"Endpoint": fake.url, "Requests": json.dumps(requests)}
        on_event({"RequestType": "Create", "ResourceProperties": properties}, None)
        assert set(fake.indices) == {"file-index-v1"}
        assert {alias: set(members) for alias, members in fake.aliases.items()} == {
            "file-index": {"file-index-v1"}, "file-index-write": {"file-index-v1"}}
        assert "file-index" in fake.templates
        fake.requests.clear()
        on_event({"RequestType": "Update", "ResourceProperties": properties}, None)
        assert set(fake.indices) == {"file-index-v1"}
        assert [(r["method"], r["path"]) for r in fake.requests] == [
            ("PUT", "/_index_template/file-index"), ("GET", "/_alias/file-index")]
    finally:
        fake.stop()
