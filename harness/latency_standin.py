"""A minimal, cheap stand-in for the SQS and S3 calls the worker makes, with in-region latency.

For throughput benchmarks only. Correctness is tested against moto (a real SQS/S3 API), but moto
is a poor yardstick for speed: every call costs CPU on the same cores as the worker, and its
ReceiveMessage rescans the whole queue for every message it returns. This stand-in serves
requests and nothing more, at O(log n) per message, and makes each call last as long as it would
in-region (LatencyProfile). It speaks the SQS JSON protocol (`X-Amz-Target: AmazonSQS.<Op>`: what both
boto3 1.44 and the 1.28.64 of the worker's Python 3.9 tests use) and path-style S3
GetObject/HeadObject. Anything else answers an error naming the operation, so the
harness cannot silently measure something the worker does not do.

Served: SQS CreateQueue, GetQueueUrl, GetQueueAttributes, SendMessage(Batch), ReceiveMessage
(1-10 messages, visibility, long polling that returns as soon as a message arrives),
DeleteMessage(Batch), ChangeMessageVisibility(Batch), PurgeQueue; S3 GetObject and HeadObject
on objects put in memory with put_object(). Not served: redrive to a DLQ, FIFO queues, delays,
ranges, multipart, any write over HTTP to S3.

The sockets get TCP_NODELAY: Python's http.server writes headers and body separately, and on a
kept-alive connection delayed ACKs would otherwise add about 40 ms to every response.
"""
from __future__ import annotations

import base64
import collections
import dataclasses
import email.utils
import hashlib
import heapq
import json
import struct
import threading
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from harness.http_server import BackgroundServer, QuietHandler

ACCOUNT = "123456789012"
REGION = "us-east-1"
MAX_BATCH = 10


@dataclasses.dataclass(frozen=True)
class LatencyProfile:
    """Seconds each call lasts, modelled on in-region AWS latency (issue 10's assumptions)."""
    sqs: float = 0.015
    get_object: float = 0.030
    mget: float = 0.020
    bulk: float = 0.040
    bulk_per_doc: float = 0.0005

    def search_latency(self, method: str, path: str, body: bytes) -> float:
        """For FakeOpenSearch(latency=...): _mget and _bulk; index creation is free."""
        route = urlsplit(path).path
        if route.endswith("/_bulk"):
            # Every bulk action the worker and the naive loop send is `index`: two lines each.
            return self.bulk + self.bulk_per_doc * (body.count(b"\n") // 2)
        if route.endswith("/_mget"):
            return self.mget
        return 0.0


NO_LATENCY = LatencyProfile(0.0, 0.0, 0.0, 0.0, 0.0)


class SqsError(Exception):
    def __init__(self, code: str, message: str, query_code: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.query_code = query_code


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _md5_of_attributes(attributes: dict) -> str:
    """SQS's MD5OfMessageAttributes: length-prefixed name, type, transport byte and value."""
    def field(raw: bytes) -> bytes:
        return struct.pack(">I", len(raw)) + raw

    buf = b""
    for name in sorted(attributes):
        attr = attributes[name]
        buf += field(name.encode()) + field(attr["DataType"].encode())
        if "StringValue" in attr:
            buf += b"\x01" + field(attr["StringValue"].encode())
        else:
            buf += b"\x02" + field(base64.b64decode(attr["BinaryValue"]))
    return _md5(buf)


class _Message:
    __slots__ = ("id", "body", "md5", "attributes", "attributes_md5", "sent_ms", "enqueued_at",
                 "receive_count", "first_receive_ms", "receipt", "visible", "visible_at")

    def __init__(self, body: str, attributes: dict) -> None:
        self.id = str(uuid.uuid4())
        self.body = body
        self.md5 = _md5(body.encode())
        self.attributes = attributes
        self.attributes_md5 = _md5_of_attributes(attributes) if attributes else None
        self.sent_ms = int(time.time() * 1000)
        self.enqueued_at = time.monotonic()
        self.receive_count = 0
        self.first_receive_ms: int | None = None
        self.receipt = ""
        self.visible = True
        self.visible_at = 0.0


class _Queue:
    """Visible messages in a deque, hidden ones on a heap of expiry times. Entries made stale by
    a delete or a visibility change are skipped when popped, so no operation scans the queue."""

    def __init__(self, name: str, url: str, attributes: dict) -> None:
        self.name = name
        self.url = url
        self.attributes = {"VisibilityTimeout": "30", "ReceiveMessageWaitTimeSeconds": "0",
                           "MessageRetentionPeriod": "345600", **attributes,
                           "QueueArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"}
        self.messages: dict[str, _Message] = {}
        self.ready: collections.deque[str] = collections.deque()
        self.hidden: list[tuple[float, str]] = []
        self.visible_count = 0
        self.deleted = 0

    def expire(self, now: float) -> None:
        while self.hidden and self.hidden[0][0] <= now:
            at, msg_id = heapq.heappop(self.hidden)
            msg = self.messages.get(msg_id)
            if msg is not None and not msg.visible and msg.visible_at == at:
                self.show(msg)

    def show(self, msg: _Message) -> None:
        msg.visible = True
        self.visible_count += 1
        self.ready.append(msg.id)

    def hide(self, msg: _Message, seconds: float, now: float) -> None:
        if msg.visible:
            msg.visible = False
            self.visible_count -= 1
        if seconds <= 0:
            self.show(msg)
            return
        msg.visible_at = now + seconds
        heapq.heappush(self.hidden, (msg.visible_at, msg.id))

    def take(self, n: int, visibility: float, now: float) -> list[_Message]:
        out = []
        while self.ready and len(out) < n:
            msg = self.messages.get(self.ready.popleft())
            if msg is None or not msg.visible:
                continue
            msg.receive_count += 1
            if msg.first_receive_ms is None:
                msg.first_receive_ms = int(time.time() * 1000)
            msg.receipt = f"{msg.id}#{msg.receive_count}#{uuid.uuid4().hex[:8]}"
            self.hide(msg, visibility, now)
            out.append(msg)
        return out

    def next_expiry(self) -> float | None:
        return self.hidden[0][0] if self.hidden else None

    def delete(self, msg_id: str) -> None:
        msg = self.messages.pop(msg_id, None)
        if msg is not None:
            self.deleted += 1
            if msg.visible:
                self.visible_count -= 1


class StandIn(BackgroundServer):
    """SQS + S3 stand-in on 127.0.0.1. `url` is the endpoint for every boto3 client."""

    def __init__(self, profile: LatencyProfile = LatencyProfile(), port: int = 0) -> None:
        self.profile = profile
        self.cond = threading.Condition()
        self.queues: dict[str, _Queue] = {}
        self.objects: dict[tuple[str, str], dict] = {}
        self.buckets: set[str] = set()
        self.calls: collections.Counter[str] = collections.Counter()
        self._long_polls_ended = False
        standin = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.read_body()
                target = self.headers.get("X-Amz-Target", "")
                if not target.startswith("AmazonSQS."):
                    self._reply(400, {"__type": "com.amazonaws.sqs#InvalidAction",
                                      "message": f"stand-in serves only the SQS JSON protocol, "
                                                 f"got X-Amz-Target={target!r}"})
                    return
                status, payload, headers = standin.sqs(target.split(".", 1)[1], body)
                self._reply(status, payload, headers)

            def _reply(self, status: int, payload: dict, headers: dict | None = None) -> None:
                self.reply(status, json.dumps(payload).encode(),
                           {"Content-Type": "application/x-amz-json-1.0", **(headers or {})})

            def _object(self) -> None:
                status, headers, data = standin.s3(self.command, self.path)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command == "GET" and data:
                    self.wfile.write(data)

            do_GET = do_HEAD = _object

            def _unsupported(self) -> None:
                self.reply(501, (f"<Error><Code>NotImplemented</Code><Message>stand-in does not "
                                 f"serve {self.command}</Message></Error>").encode())

            do_PUT = do_DELETE = _unsupported

        super().__init__(Handler, "127.0.0.1", port)

    # -- control (in-process, no latency) ----------------------------------------------------

    def stop(self) -> None:
        self.end_long_polls()
        super().stop()

    def create_queue(self, name: str, **attributes: str) -> str:
        with self.cond:
            return self._create_queue(name, attributes)

    def put_object(self, bucket: str, key: str, body: bytes,
                   content_type: str = "text/plain") -> dict:
        """Store an object; returns what an S3 event records about it (eTag, versionId, size)."""
        obj = {"body": body, "etag": _md5(body), "version_id": uuid.uuid4().hex,
               "content_type": content_type,
               "last_modified": email.utils.formatdate(time.time(), usegmt=True)}
        with self.cond:
            self.objects[(bucket, key)] = obj
            self.buckets.add(bucket)
        return {"eTag": obj["etag"], "versionId": obj["version_id"], "size": len(body)}

    def send(self, queue_url: str, bodies: list[str]) -> list[str]:
        """Enqueue messages as a notification would arrive; returns their ids."""
        with self.cond:
            queue = self._queue(queue_url)
            ids = [self._enqueue(queue, body, {}).id for body in bodies]
            self.cond.notify_all()
        return ids

    def counts(self, queue_url: str) -> dict[str, int]:
        with self.cond:
            queue = self._queue(queue_url)
            queue.expire(time.monotonic())
            return {"visible": queue.visible_count,
                    "in_flight": len(queue.messages) - queue.visible_count,
                    "deleted": queue.deleted}

    def wait_deleted(self, queue_url: str, n: int, timeout: float) -> bool:
        """Block until n messages of the queue have been deleted in total."""
        deadline = time.monotonic() + timeout
        with self.cond:
            queue = self._queue(queue_url)
            while queue.deleted < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 1.0))
            return True

    def end_long_polls(self) -> None:
        """From now on every receive answers at once, so that a stopping worker need not wait
        out its 20 s poll; waiting polls answer now (empty)."""
        with self.cond:
            self._long_polls_ended = True
            self.cond.notify_all()

    # -- SQS ---------------------------------------------------------------------------------

    def sqs(self, op: str, raw: bytes) -> tuple[int, dict, dict]:
        started = time.monotonic()
        try:
            req = json.loads(raw or b"{}")
            handler = getattr(self, f"_sqs_{op}", None)
            if handler is None:
                raise SqsError("InvalidAction", f"stand-in does not serve SQS {op}")
            with self.cond:
                self.calls[f"sqs.{op}"] += 1
            status, payload, headers = 200, handler(req), {}
        except (ValueError, KeyError, TypeError) as exc:
            status, payload, headers = 400, {
                "__type": "com.amazonaws.sqs#InvalidParameterValue",
                "message": f"stand-in cannot read the {op} request: {exc!r}"}, {}
        except SqsError as exc:
            headers = {"x-amzn-query-error": f"{exc.query_code};Sender"} if exc.query_code else {}
            status, payload = 400, {"__type": f"com.amazonaws.sqs#{exc.code}",
                                    "message": str(exc)}
        # A long poll has already waited; the round trip still costs the profile's latency.
        waited = time.monotonic() - started if op != "ReceiveMessage" else 0.0
        time.sleep(max(0.0, self.profile.sqs - waited))
        return status, payload, headers

    def _create_queue(self, name: str, attributes: dict) -> str:
        url = f"{self.url}/{ACCOUNT}/{name}"
        if name not in self.queues:
            self.queues[name] = _Queue(name, url, attributes)
        return url

    def _queue(self, url: str) -> _Queue:
        queue = self.queues.get(str(url).rstrip("/").rsplit("/", 1)[-1])
        if queue is None:
            raise SqsError("QueueDoesNotExist", "The specified queue does not exist.",
                           "AWS.SimpleQueueService.NonExistentQueue")
        return queue

    def _enqueue(self, queue: _Queue, body: str, attributes: dict) -> _Message:
        msg = _Message(body, attributes)
        queue.messages[msg.id] = msg
        queue.show(msg)
        return msg

    @staticmethod
    def _int(req: dict, name: str, default: int, low: int, high: int) -> int:
        value = req.get(name, default)
        if not isinstance(value, int) or not low <= value <= high:
            raise SqsError("InvalidParameterValue",
                           f"Value {value!r} for parameter {name} is invalid: must be "
                           f"between {low} and {high}.")
        return value

    @staticmethod
    def _entries(req: dict) -> list[dict]:
        entries = req.get("Entries") or []
        if not entries:
            raise SqsError("EmptyBatchRequest", "There should be at least one entry in the request.")
        if len(entries) > MAX_BATCH:
            raise SqsError("TooManyEntriesInBatchRequest",
                           f"Maximum number of entries per request are {MAX_BATCH}. "
                           f"You have sent {len(entries)}.")
        if len({e.get("Id") for e in entries}) != len(entries):
            raise SqsError("BatchEntryIdsNotDistinct", "Two or more batch entries have the same Id.")
        return entries

    def _sqs_CreateQueue(self, req: dict) -> dict:
        with self.cond:
            return {"QueueUrl": self._create_queue(req["QueueName"], req.get("Attributes", {}))}

    def _sqs_GetQueueUrl(self, req: dict) -> dict:
        with self.cond:
            return {"QueueUrl": self._queue(req["QueueName"]).url}

    def _sqs_GetQueueAttributes(self, req: dict) -> dict:
        names = req.get("AttributeNames") or ["All"]
        with self.cond:
            queue = self._queue(req["QueueUrl"])
            queue.expire(time.monotonic())
            attrs = dict(queue.attributes,
                         ApproximateNumberOfMessages=str(queue.visible_count),
                         ApproximateNumberOfMessagesNotVisible=str(
                             len(queue.messages) - queue.visible_count),
                         ApproximateNumberOfMessagesDelayed="0")
        if "All" not in names:
            attrs = {k: v for k, v in attrs.items() if k in names}
        return {"Attributes": attrs}

    def _sqs_PurgeQueue(self, req: dict) -> dict:
        with self.cond:
            queue = self._queue(req["QueueUrl"])
            for msg_id in list(queue.messages):
                queue.delete(msg_id)
        return {}

    def _send(self, queue: _Queue, entry: dict) -> dict:
        if entry.get("DelaySeconds"):
            raise SqsError("InvalidParameterValue", "stand-in does not serve DelaySeconds")
        body = entry.get("MessageBody")
        if not isinstance(body, str) or not body:
            raise SqsError("MissingParameter", "The request must contain the parameter MessageBody.")
        msg = self._enqueue(queue, body, entry.get("MessageAttributes") or {})
        out = {"MessageId": msg.id, "MD5OfMessageBody": msg.md5}
        if msg.attributes_md5:
            out["MD5OfMessageAttributes"] = msg.attributes_md5
        return out

    def _sqs_SendMessage(self, req: dict) -> dict:
        with self.cond:
            out = self._send(self._queue(req["QueueUrl"]), req)
            self.cond.notify_all()
        return out

    def _sqs_SendMessageBatch(self, req: dict) -> dict:
        entries = self._entries(req)
        with self.cond:
            queue = self._queue(req["QueueUrl"])
            ok = [{"Id": e["Id"], **self._send(queue, e)} for e in entries]
            self.cond.notify_all()
        return {"Successful": ok, "Failed": []}

    def _sqs_ReceiveMessage(self, req: dict) -> dict:
        n = self._int(req, "MaxNumberOfMessages", 1, 1, MAX_BATCH)
        with self.cond:
            queue = self._queue(req["QueueUrl"])
            wait = self._int(req, "WaitTimeSeconds",
                             int(queue.attributes["ReceiveMessageWaitTimeSeconds"]), 0, 20)
            visibility = self._int(req, "VisibilityTimeout",
                                   int(queue.attributes["VisibilityTimeout"]), 0, 43200)
            deadline = time.monotonic() + wait
            while True:
                now = time.monotonic()
                queue.expire(now)
                taken = queue.take(n, visibility, now)
                if taken or now >= deadline or self._long_polls_ended:
                    break
                expiry = queue.next_expiry()
                self.cond.wait(min(deadline, expiry if expiry is not None else deadline) - now)
            names = set(req.get("AttributeNames", [])) | set(
                req.get("MessageSystemAttributeNames", []))
            wanted_attrs = set(req.get("MessageAttributeNames", []))
            return {"Messages": [self._received(m, names, wanted_attrs) for m in taken]}

    @staticmethod
    def _received(msg: _Message, names: set, wanted_attrs: set) -> dict:
        system = {"ApproximateReceiveCount": str(msg.receive_count),
                  "SentTimestamp": str(msg.sent_ms),
                  "ApproximateFirstReceiveTimestamp": str(msg.first_receive_ms),
                  "SenderId": ACCOUNT}
        out: dict[str, Any] = {"MessageId": msg.id, "ReceiptHandle": msg.receipt,
                               "MD5OfBody": msg.md5, "Body": msg.body}
        if names:
            out["Attributes"] = {k: v for k, v in system.items() if "All" in names or k in names}
        if msg.attributes and wanted_attrs:
            out["MessageAttributes"] = {
                k: v for k, v in msg.attributes.items()
                if "All" in wanted_attrs or ".*" in wanted_attrs or k in wanted_attrs}
            out["MD5OfMessageAttributes"] = msg.attributes_md5
        return out

    def _message(self, queue: _Queue, receipt: Any) -> tuple[str, _Message | None]:
        parts = str(receipt).split("#")
        if len(parts) != 3:
            raise SqsError("ReceiptHandleIsInvalid", f"The input receipt handle \"{receipt}\" "
                           "is not a valid receipt handle.")
        return parts[0], queue.messages.get(parts[0])

    def _delete_one(self, queue: _Queue, receipt: Any) -> None:
        # As on SQS, deleting an already deleted message succeeds.
        msg_id, _ = self._message(queue, receipt)
        queue.delete(msg_id)

    def _visibility_one(self, queue: _Queue, receipt: Any, seconds: Any) -> None:
        if not isinstance(seconds, int) or not 0 <= seconds <= 43200:
            raise SqsError("InvalidParameterValue", f"Value {seconds!r} for parameter "
                           "VisibilityTimeout is invalid.")
        _, msg = self._message(queue, receipt)
        if msg is None:
            raise SqsError("InvalidParameterValue", f"Value {receipt} for parameter ReceiptHandle "
                           "is invalid. Reason: Message does not exist or is not available for "
                           "visibility timeout change.")
        if msg.visible or msg.receipt != receipt:
            raise SqsError("MessageNotInflight", "Message is not in flight.")
        queue.hide(msg, seconds, time.monotonic())

    def _batch(self, req: dict, apply) -> dict:
        entries = self._entries(req)
        ok, failed = [], []
        with self.cond:
            queue = self._queue(req["QueueUrl"])
            for e in entries:
                try:
                    apply(queue, e)
                    ok.append({"Id": e["Id"]})
                except SqsError as exc:
                    failed.append({"Id": e["Id"], "SenderFault": True, "Code": exc.code,
                                   "Message": str(exc)})
            self.cond.notify_all()
        return {"Successful": ok, "Failed": failed}

    def _sqs_DeleteMessage(self, req: dict) -> dict:
        with self.cond:
            self._delete_one(self._queue(req["QueueUrl"]), req.get("ReceiptHandle"))
            self.cond.notify_all()
        return {}

    def _sqs_DeleteMessageBatch(self, req: dict) -> dict:
        return self._batch(req, lambda q, e: self._delete_one(q, e.get("ReceiptHandle")))

    def _sqs_ChangeMessageVisibility(self, req: dict) -> dict:
        with self.cond:
            self._visibility_one(self._queue(req["QueueUrl"]), req.get("ReceiptHandle"),
                                 req.get("VisibilityTimeout"))
            self.cond.notify_all()
        return {}

    def _sqs_ChangeMessageVisibilityBatch(self, req: dict) -> dict:
        return self._batch(req, lambda q, e: self._visibility_one(
            q, e.get("ReceiptHandle"), e.get("VisibilityTimeout")))

    # -- S3 ----------------------------------------------------------------------------------

    def s3(self, method: str, raw_path: str) -> tuple[int, dict, bytes]:
        url = urlsplit(raw_path)
        bucket, _, key = url.path.lstrip("/").partition("/")
        key = unquote(key)
        op = "GetObject" if method == "GET" else "HeadObject"
        query = parse_qs(url.query)
        unsupported = set(query) - {"x-id", "versionId"}
        with self.cond:
            self.calls[f"s3.{op}"] += 1
            obj = self.objects.get((bucket, key))
            bucket_exists = bucket in self.buckets
        time.sleep(self.profile.get_object)
        if unsupported or not key:
            return self._s3_error(501, "NotImplemented",
                                  f"stand-in serves only GetObject/HeadObject, got {raw_path}")
        if obj is None:
            if not bucket_exists:
                return self._s3_error(404, "NoSuchBucket", "The specified bucket does not exist")
            return self._s3_error(404, "NoSuchKey", "The specified key does not exist.")
        if query.get("versionId", [obj["version_id"]])[-1] != obj["version_id"]:
            # One version per key: the worker reads the version its event names.
            return self._s3_error(404, "NoSuchVersion", "The specified version does not exist.")
        return 200, {"Content-Type": obj["content_type"],
                     "Content-Length": str(len(obj["body"])),
                     "ETag": f'"{obj["etag"]}"', "Last-Modified": obj["last_modified"],
                     "x-amz-version-id": obj["version_id"], "Accept-Ranges": "bytes"}, obj["body"]

    @staticmethod
    def _s3_error(status: int, code: str, message: str) -> tuple[int, dict, bytes]:
        data = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                f"<Message>{message}</Message><RequestId>{uuid.uuid4().hex[:16]}</RequestId>"
                f"</Error>").encode()
        return status, {"Content-Type": "application/xml", "Content-Length": str(len(data))}, data
