"""The benchmark's SQS/S3 stand-in, checked with boto3: it must behave like SQS and S3 for the calls
the worker makes and apply its latency, or the aws_profile figures measure something else."""
from __future__ import annotations

import json
import threading
import time
import urllib.request
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError
from ingest_worker.s3_events import parse_body

from bench.contenders import s3_event
from harness.fake_opensearch import FakeOpenSearch
from harness.latency_standin import NO_LATENCY, LatencyProfile, StandIn

KEYS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench",
        "region_name": "us-east-1"}


def clients(url: str):
    return boto3.client("sqs", endpoint_url=url, **KEYS), boto3.client("s3", endpoint_url=url, **KEYS)


@pytest.fixture(scope="module")
def standin():
    server = StandIn(NO_LATENCY).start()
    yield server
    server.stop()


@pytest.fixture
def sqs_queue(standin):
    sqs, _ = clients(standin.url)
    url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}",
                           Attributes={"VisibilityTimeout": "900"})["QueueUrl"]
    return sqs, url


def send(sqs, url: str, n: int) -> None:
    for i in range(0, n, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(j), "MessageBody": f"m{j}"} for j in range(i, min(n, i + 10))])


def receive(sqs, url: str, n: int = 10, wait: int = 0, **kw) -> list[dict]:
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=n, WaitTimeSeconds=wait,
                               AttributeNames=["ApproximateReceiveCount"], **kw).get("Messages", [])


def test_receive_hides_what_it_returns_and_delete_removes_it(sqs_queue):
    sqs, url = sqs_queue
    send(sqs, url, 12)
    first, second = receive(sqs, url), receive(sqs, url)
    assert (len(first), len(second)) == (10, 2)
    assert len({m["Body"] for m in first + second}) == 12
    assert receive(sqs, url) == []  # all in flight for 900 s
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"]) \
        == ("0", "12")
    resp = sqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(first[:9])]
        + [{"Id": "bad", "ReceiptHandle": "not-a-receipt"}])
    assert len(resp["Successful"]) == 9
    assert [(f["Id"], f["Code"]) for f in resp["Failed"]] == [("bad", "ReceiptHandleIsInvalid")]
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessagesNotVisible"])["Attributes"] == {
        "ApproximateNumberOfMessagesNotVisible": "3"}


def test_visibility_change_and_expiry_make_a_message_visible_again(sqs_queue):
    sqs, url = sqs_queue
    send(sqs, url, 2)
    a, b = receive(sqs, url)
    resp = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": "a", "ReceiptHandle": a["ReceiptHandle"], "VisibilityTimeout": 0},
        {"Id": "b", "ReceiptHandle": b["ReceiptHandle"], "VisibilityTimeout": 1}])
    assert len(resp["Successful"]) == 2
    again = receive(sqs, url)
    assert [(m["MessageId"], m["Attributes"]["ApproximateReceiveCount"]) for m in again] == [
        (a["MessageId"], "2")]
    # The old receipt no longer names an in-flight receive of that message.
    with pytest.raises(ClientError, match="MessageNotInflight"):
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=a["ReceiptHandle"],
                                      VisibilityTimeout=10)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"])
    # b's 1 s visibility ends within the long poll; the deleted message never comes back.
    later = receive(sqs, url, wait=10)
    assert [(m["MessageId"], m["Attributes"]["ApproximateReceiveCount"]) for m in later] == [
        (b["MessageId"], "2")]


def test_long_poll_returns_as_soon_as_a_message_arrives(standin, sqs_queue):
    sqs, url = sqs_queue
    threading.Timer(0.3, lambda: standin.send(url, ["late"])).start()
    started = time.monotonic()
    got = receive(sqs, url, wait=20)
    assert [m["Body"] for m in got] == ["late"]
    assert time.monotonic() - started < 10  # far less than the 20 s poll


def test_refuses_what_sqs_refuses_and_what_it_does_not_serve(sqs_queue):
    sqs, url = sqs_queue
    with pytest.raises(ClientError, match="TooManyEntriesInBatchRequest"):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": "x"} for i in range(11)])
    with pytest.raises(ClientError, match="InvalidParameterValue"):
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=11)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.receive_message(QueueUrl=url + "-missing")
    with pytest.raises(ClientError, match="does not serve SQS ListQueues"):
        sqs.list_queues()


def test_dlq_message_attributes_round_trip(sqs_queue):
    sqs, url = sqs_queue
    attrs = {"reason": {"DataType": "String", "StringValue": "malformed_json"},
             "receive_count": {"DataType": "Number", "StringValue": "1"}}
    sent = sqs.send_message(QueueUrl=url, MessageBody="{", MessageAttributes=attrs)
    (got,) = receive(sqs, url, MessageAttributeNames=["All"])
    assert got["MessageAttributes"] == attrs
    assert got["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]


def test_get_object_serves_what_the_worker_reads(standin):
    _, s3 = clients(standin.url)
    key = "raw-files/dir/a file+1.txt"
    meta = standin.put_object("raw", key, b"hello")
    resp = s3.get_object(Bucket="raw", Key=key)
    assert resp["Body"].read() == b"hello"
    assert (resp["ETag"], resp["VersionId"], resp["ContentLength"]) == (
        f'"{meta["eTag"]}"', meta["versionId"], 5)
    assert resp["LastModified"].tzinfo is not None
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket="raw", Key="raw-files/missing.txt")
    with pytest.raises(ClientError, match="NoSuchBucket"):
        s3.get_object(Bucket="other", Key=key)


def test_the_benchmark_events_are_what_the_worker_parses():
    body = s3_event("raw", "raw-files/dir/a file+1.txt", 5, "abc", "v1")
    (ref,) = parse_body(body).records
    assert (ref.bucket, ref.key, ref.size, ref.etag, ref.version_id, ref.event_name) == (
        "raw", "raw-files/dir/a file+1.txt", 5, "abc", "v1", "ObjectCreated:Put")
    assert json.loads(body)["Records"][0]["s3"]["object"]["sequencer"]


def test_every_call_lasts_at_least_its_profile_latency():
    profile = LatencyProfile(sqs=0.05, get_object=0.08, mget=0.06, bulk=0.07, bulk_per_doc=0.01)
    server = StandIn(profile).start()
    fake = FakeOpenSearch(latency=profile.search_latency).start()
    try:
        sqs, s3 = clients(server.url)
        url = sqs.create_queue(QueueName="slow")["QueueUrl"]
        server.put_object("raw", "k", b"x")
        sqs.get_queue_attributes(QueueUrl=url)  # warm the connection
        for call, least in (
                (lambda: sqs.send_message(QueueUrl=url, MessageBody="x"), 0.05),
                (lambda: receive(sqs, url), 0.05),
                (lambda: s3.get_object(Bucket="raw", Key="k")["Body"].read(), 0.08)):
            started = time.monotonic()
            call()
            assert time.monotonic() - started >= least
        assert profile.search_latency("POST", "/i/_mget?_source_includes=etag", b"{}") == 0.06
        bulk = b'{"index":{}}\n{}\n{"index":{}}\n{}\n'
        assert profile.search_latency("POST", "/i/_bulk", bulk) == pytest.approx(0.09)
        assert profile.search_latency("PUT", "/i", b"{}") == 0.0

        started = time.monotonic()
        urllib.request.urlopen(urllib.request.Request(
            fake.url + "/i/_bulk", data=bulk, method="POST",
            headers={"Content-Type": "application/x-ndjson"}), timeout=10).read()
        assert time.monotonic() - started >= 0.09
        assert len(fake.docs("i")) == 2
    finally:
        fake.stop()
        server.stop()


def test_kept_alive_answers_are_not_held_back_by_delayed_acks(standin, sqs_queue):
    """Without TCP_NODELAY every answer on a kept-alive connection waits ~40 ms for an ACK."""
    sqs, url = sqs_queue
    times = []
    # The fastest of 30 calls: with delayed ACKs every call takes >= 40 ms (Linux's minimum ACK
    # delay), so one fast call is proof enough; 30 tries (not 10) so that on a loaded machine,
    # where any single call may be descheduled for longer than 30 ms, one still lands between stalls.
    for _ in range(30):
        started = time.monotonic()
        sqs.get_queue_attributes(QueueUrl=url)
        times.append(time.monotonic() - started)
    assert min(times) < 0.03, times
