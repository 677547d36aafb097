"""The SQS consumer: receive, fetch, index in bulk, delete what is done.

Flow of one round (each pipeline thread runs rounds one after another):
  receive up to 2 x 10 messages -> parse -> GetObject in parallel (fetch pool) ->
  one _mget (what is already indexed) -> one _bulk (only what changed) ->
  DeleteMessageBatch for finished messages, DLQ for poison, short visibility for transient.
A heartbeat thread extends the visibility of every message still held before it expires.
"""
from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import datetime
import hashlib
import random
import threading
import time
from typing import Any, Callable, Dict, List, Optional

from . import extract
from .config import Config
from .events import ObjectRef, PoisonMessage, parse_body, wanted
from .logs import JsonLog
from .opensearch import IndexError_, OpenSearch, is_transient_status

RECEIVE_BATCH = 10
DELETE_ATTEMPTS = 3
EXISTING_FIELDS = ("etag", "version_id", "last_modified_ms")


def doc_id(bucket: str, key: str) -> str:
    """Deterministic document id: the same object always maps to the same document."""
    return hashlib.sha256(f"{bucket}/{key}".encode("utf-8")).hexdigest()


def retry_delay(receive_count: int, visibility_timeout: int) -> int:
    """Visibility given back to a message after a transient failure (exponential backoff)."""
    return int(min(visibility_timeout, 300, 2 ** max(1, min(receive_count, 8))))


class TransientError(Exception):
    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


@dataclasses.dataclass
class Held:
    """A message this worker holds (received, not yet deleted or released)."""
    message_id: str
    receipt_handle: str
    body: str
    receive_count: int
    received_at: float
    deadline: float  # monotonic time at which its visibility expires
    outcomes: List[tuple] = dataclasses.field(default_factory=list)  # (ref, outcome)
    poison: Optional[PoisonMessage] = None
    transient: Optional[TransientError] = None
    test_bucket: Optional[str] = None


@dataclasses.dataclass
class Fetched:
    held: Held
    ref: ObjectRef
    doc_id: str
    source: Dict[str, Any]
    version: int


class Worker:
    def __init__(self, cfg: Config, log: JsonLog, sqs: Any, s3: Any, search: OpenSearch,
                 on_stopped: Optional[Callable[[], None]] = None) -> None:
        self.cfg = cfg
        self.log = log
        self.sqs = sqs
        self.s3 = s3
        self.search = search
        self.on_stopped = on_stopped
        self.stop_event = threading.Event()
        self._stop_reason: Optional[str] = None
        self._held: Dict[str, Held] = {}
        self._held_lock = threading.Lock()
        self._fetch_pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=cfg.concurrency, thread_name_prefix="fetch")
        self.counts: Dict[str, int] = collections.Counter()
        self._count_lock = threading.Lock()
        self.calls: Dict[str, int] = collections.Counter()
        for client in (sqs, s3):
            client.meta.events.register("before-send", self._count_call)

    # -- bookkeeping -------------------------------------------------------------------------

    def _count_call(self, event_name: str = "", **_: Any) -> None:
        # before-send fires once per HTTP attempt, retries included: an honest count.
        parts = event_name.split(".")
        with self._count_lock:
            self.calls[".".join(parts[1:3])] += 1

    def _count(self, name: str, n: int = 1) -> None:
        with self._count_lock:
            self.counts[name] += n

    def stats(self) -> Dict[str, Any]:
        with self._count_lock:
            calls = dict(self.calls)
            counts = dict(self.counts)
        return {
            "sqs_calls": sum(v for k, v in calls.items() if k.startswith("sqs.")),
            "s3_calls": sum(v for k, v in calls.items() if k.startswith("s3.")),
            "index_requests": self.search.requests,
            "calls": calls,
            "counts": counts,
        }

    def held_count(self) -> int:
        with self._held_lock:
            return len(self._held)

    # -- lifecycle ---------------------------------------------------------------------------

    def request_stop(self, reason: str = "signal") -> None:
        """Safe to call from a signal handler: only sets flags; run() logs."""
        if self._stop_reason is None:
            self._stop_reason = reason
        self.stop_event.set()

    def run(self) -> int:
        cfg = self.cfg
        self.log.info("worker_started", "Worker started", queue_url=cfg.queue_url,
                      index=cfg.opensearch_index, concurrency=cfg.concurrency,
                      pipelines=cfg.pipelines, max_in_flight=cfg.max_in_flight,
                      visibility_timeout=cfg.visibility_timeout)
        if not self._ensure_index():
            return self._finish(drained=True)
        heartbeat = threading.Thread(target=self._heartbeat_loop, name="heartbeat", daemon=True)
        heartbeat.start()
        pipelines = [threading.Thread(target=self._pipeline_loop, name=f"pipeline-{i}",
                                      daemon=True) for i in range(cfg.pipelines)]
        for t in pipelines:
            t.start()
        while not self.stop_event.wait(0.5):
            if not any(t.is_alive() for t in pipelines):
                self.log.error("worker_crashed", "All pipeline threads ended unexpectedly")
                self.request_stop("crashed")
        self.log.info("worker_stopping", "Stop requested: no new receives, draining",
                      reason=self._stop_reason or "unknown", in_flight=self.held_count())
        deadline = time.monotonic() + cfg.shutdown_timeout
        for t in pipelines:
            t.join(max(0.0, deadline - time.monotonic()))
        drained = not any(t.is_alive() for t in pipelines)
        if not drained:
            self.log.warning("shutdown_timeout", "In-flight work did not finish in time; "
                             "releasing held messages", in_flight=self.held_count())
            with self._held_lock:
                leftovers = list(self._held.values())
            self._change_visibility(leftovers, lambda h: 0)
        return self._finish(drained)

    def _finish(self, drained: bool) -> int:
        self._fetch_pool.shutdown(wait=drained)
        if self.on_stopped is not None:
            try:
                self.on_stopped()
            except Exception as exc:  # the worker still stops cleanly
                self.log.error("lifecycle_failed", f"Could not complete lifecycle action: {exc}",
                               error=type(exc).__name__)
        self.log.info("worker_stopped", "Worker stopped", drained=drained, **self.stats())
        return 0

    def _ensure_index(self) -> bool:
        delay = 1.0
        while not self.stop_event.is_set():
            try:
                created = self.search.ensure_index()
                self.log.info("index_ready", "Index is ready", index=self.cfg.opensearch_index,
                              created=created)
                return True
            except IndexError_ as exc:
                self.log.warning("index_unavailable", f"Cannot create or reach the index: {exc}",
                                 error=exc.code, transient=exc.transient)
            self.stop_event.wait(delay)
            delay = min(delay * 2, 30.0)
        return False

    # -- receive loop ------------------------------------------------------------------------

    def _receive(self, wait: int) -> List[Held]:
        resp = self.sqs.receive_message(
            QueueUrl=self.cfg.queue_url, MaxNumberOfMessages=RECEIVE_BATCH,
            WaitTimeSeconds=wait, AttributeNames=["ApproximateReceiveCount"],
            VisibilityTimeout=self.cfg.visibility_timeout)
        now = time.monotonic()
        held = []
        for m in resp.get("Messages", []):
            h = Held(message_id=m["MessageId"], receipt_handle=m["ReceiptHandle"],
                     body=m.get("Body", ""),
                     receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", 1)),
                     received_at=now, deadline=now + self.cfg.visibility_timeout)
            held.append(h)
        with self._held_lock:
            for h in held:
                self._held[h.receipt_handle] = h
        return held

    def _pipeline_loop(self) -> None:
        backoff = 1.0
        while not self.stop_event.is_set():
            try:
                batch = self._receive(self.cfg.wait_time)
                # A full batch means more is waiting: take a second one so that one _mget and
                # one _bulk serve up to 20 messages.
                if len(batch) == RECEIVE_BATCH and not self.stop_event.is_set():
                    batch += self._receive(0)
                backoff = 1.0
            except Exception as exc:
                self.log.warning("receive_failed", f"ReceiveMessage failed: {exc}",
                                 error=_error_code(exc))
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, 20.0)
                continue
            if batch:
                try:
                    self.process(batch)
                except Exception as exc:  # a bug must not strand messages until they expire
                    self.log.error("round_failed", f"Unexpected error in a round: {exc!r}",
                                   error=type(exc).__name__)
                    self._release_transient(
                        [h for h in batch if h.receipt_handle in self._held_snapshot()],
                        TransientError(type(exc).__name__))

    def _held_snapshot(self) -> set:
        with self._held_lock:
            return set(self._held)

    # -- one round ---------------------------------------------------------------------------

    def process(self, batch: List[Held]) -> None:
        started = time.monotonic()
        work: List[tuple] = []  # (held, ref)
        for h in batch:
            try:
                parsed = parse_body(h.body)
            except PoisonMessage as exc:
                h.poison = exc
                continue
            if parsed.test_event:
                h.test_bucket = parsed.test_bucket
                continue
            for ref in parsed.records:
                if wanted(ref, self.cfg.prefix):
                    work.append((h, ref))
                else:
                    h.outcomes.append((ref, "ignored"))

        fetched = self._fetch_all(work)
        if fetched:
            self._index(fetched)

        done, poison, transient = [], [], []
        for h in batch:
            if h.poison is not None:
                poison.append(h)
            elif h.transient is not None:
                transient.append(h)
            else:
                done.append(h)
        if poison:
            done += self._send_to_dlq(poison)
        if transient:
            self._release_transient(transient)
        if done:
            self._delete(done)
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        for h in done:
            self._log_done(h, duration_ms)

    def _log_done(self, h: Held, duration_ms: float) -> None:
        if h.poison is not None:
            return  # logged as sent_to_dlq
        if h.test_bucket is not None:
            self._count("test_event")
            self.log.info("message_processed", "S3 test event deleted without work",
                          message_id=h.message_id, bucket=h.test_bucket, key="",
                          outcome="test_event", duration_ms=duration_ms)
            return
        for ref, outcome in h.outcomes:
            self._count(outcome)
            self.log.info("message_processed", f"{outcome}: s3://{ref.bucket}/{ref.key}",
                          message_id=h.message_id, bucket=ref.bucket, key=ref.key,
                          outcome=outcome, duration_ms=duration_ms)

    # -- fetch -------------------------------------------------------------------------------

    def _fetch_all(self, work: List[tuple]) -> List[Fetched]:
        futures = [(h, ref, self._fetch_pool.submit(self._fetch, h, ref)) for h, ref in work]
        fetched = []
        for h, _ref, fut in futures:
            try:
                fetched.append(fut.result())
            except PoisonMessage as exc:
                h.poison = h.poison or exc
            except TransientError as exc:
                h.transient = h.transient or exc
        return fetched

    def _fetch(self, h: Held, ref: ObjectRef) -> Fetched:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            resp = self.s3.get_object(Bucket=ref.bucket, Key=ref.key)
        except ClientError as exc:
            code = _error_code(exc)
            if code in ("NoSuchKey", "404", "NotFound"):
                raise PoisonMessage("object_missing", f"s3://{ref.bucket}/{ref.key}") from None
            if code == "NoSuchBucket":
                raise PoisonMessage("bucket_missing", ref.bucket) from None
            raise TransientError(code, str(exc)[:200]) from None
        except BotoCoreError as exc:
            raise TransientError(type(exc).__name__, str(exc)[:200]) from None
        body = resp["Body"]
        size = int(resp.get("ContentLength") or 0)
        text = None
        try:
            if size <= self.cfg.max_object_bytes and extract.supported(ref.key):
                text = extract.extract_text(ref.key, body.read())
        except (BotoCoreError, OSError) as exc:
            raise TransientError(type(exc).__name__, str(exc)[:200]) from None
        finally:
            body.close()  # large and unsupported objects are not downloaded at all
        modified = resp.get("LastModified")
        if not isinstance(modified, datetime.datetime):
            modified = datetime.datetime.now(datetime.timezone.utc)
        modified_ms = int(modified.timestamp() * 1000)
        source: Dict[str, Any] = {
            "bucket": ref.bucket,
            "key": ref.key,
            "etag": (resp.get("ETag") or "").strip('"'),
            "version_id": resp.get("VersionId") or None,
            "size": size,
            "last_modified": modified.astimezone(datetime.timezone.utc).isoformat(),
            "last_modified_ms": modified_ms,
            "content_type": resp.get("ContentType") or None,
            "extension": extract.extension(ref.key) or None,
            "metadata_only": text is None,
        }
        if text is not None:
            source["content"] = text
        return Fetched(held=h, ref=ref, doc_id=doc_id(ref.bucket, ref.key), source=source,
                       version=max(1, modified_ms))

    # -- index -------------------------------------------------------------------------------

    def _index(self, fetched: List[Fetched]) -> None:
        ids = sorted({f.doc_id for f in fetched})
        try:
            existing = self.search.mget_sources(ids, EXISTING_FIELDS)
        except IndexError_ as exc:
            for f in fetched:
                f.held.transient = f.held.transient or TransientError(exc.code, str(exc))
            return
        # One write per document even if several messages in the round name it (duplicates).
        by_id: Dict[str, List[Fetched]] = collections.OrderedDict()
        for f in fetched:
            by_id.setdefault(f.doc_id, []).append(f)
        to_write: List[List[Fetched]] = []
        for group in by_id.values():
            newest = max(group, key=lambda f: f.version)
            old = existing.get(newest.doc_id)
            if old is not None and (
                    (old.get("etag") == newest.source["etag"]
                     and old.get("version_id") == newest.source["version_id"])
                    or int(old.get("last_modified_ms") or 0) > newest.version):
                for f in group:
                    f.held.outcomes.append((f.ref, "unchanged"))
                continue
            group.remove(newest)
            to_write.append([newest] + group)
        if not to_write:
            return
        now = datetime.datetime.now(datetime.timezone.utc).isoformat()
        docs = [(g[0].doc_id, g[0].version, dict(g[0].source, indexed_at=now)) for g in to_write]
        try:
            results = self.search.bulk_index(docs)
        except IndexError_ as exc:
            for group in to_write:
                for f in group:
                    if exc.transient:
                        f.held.transient = f.held.transient or TransientError(exc.code, str(exc))
                    else:
                        f.held.poison = f.held.poison or PoisonMessage("index_rejected", str(exc))
            return
        # bulk_index checked that the lengths match; zip(strict=) does not exist on 3.9.
        for group, item in zip(to_write, results):  # noqa: B905
            status = int(item.get("status", 0))
            first = group[0]
            if 200 <= status < 300:
                outcome = "metadata_only" if first.source["metadata_only"] else "indexed"
                first.held.outcomes.append((first.ref, outcome))
                for f in group[1:]:
                    f.held.outcomes.append((f.ref, "unchanged"))
                continue
            error = item.get("error") or {}
            etype = error.get("type", f"HTTP{status}") if isinstance(error, dict) else str(error)
            for f in group:
                if status == 409:  # a newer version of the object is already indexed
                    f.held.outcomes.append((f.ref, "unchanged"))
                elif is_transient_status(status):
                    f.held.transient = f.held.transient or TransientError(etype)
                else:
                    f.held.poison = f.held.poison or PoisonMessage(
                        "index_rejected", f"{etype}: {str(error.get('reason', ''))[:200]}"
                        if isinstance(error, dict) else etype)

    # -- SQS outcomes ------------------------------------------------------------------------

    def _forget(self, held: List[Held]) -> None:
        with self._held_lock:
            for h in held:
                self._held.pop(h.receipt_handle, None)

    def _delete(self, held: List[Held]) -> None:
        """DeleteMessageBatch in chunks of 10; failed entries are retried, then logged."""
        pending = list(held)
        for attempt in range(1, DELETE_ATTEMPTS + 1):
            failed: List[Held] = []
            for i in range(0, len(pending), RECEIVE_BATCH):
                chunk = pending[i:i + RECEIVE_BATCH]
                by_id = {str(n): h for n, h in enumerate(chunk)}
                try:
                    resp = self.sqs.delete_message_batch(
                        QueueUrl=self.cfg.queue_url,
                        Entries=[{"Id": k, "ReceiptHandle": h.receipt_handle}
                                 for k, h in by_id.items()])
                    errors = [(by_id[f["Id"]], f.get("Code", "Unknown"))
                              for f in resp.get("Failed", [])]
                except Exception as exc:
                    errors = [(h, _error_code(exc)) for h in chunk]
                for h, code in errors:
                    self.log.error("delete_failed",
                                   f"Failed to delete message {h.message_id} "
                                   f"(attempt {attempt}/{DELETE_ATTEMPTS}): {code}",
                                   message_id=h.message_id, code=code, attempt=attempt)
                    failed.append(h)
            self._count("deleted", len(pending) - len(failed))
            if not failed:
                break
            pending = failed
            if attempt < DELETE_ATTEMPTS:
                time.sleep(0.2 * attempt)
        else:
            # It will reappear after the visibility timeout and be found unchanged.
            self._count("delete_given_up", len(pending))
        self._forget(held)

    def _send_to_dlq(self, held: List[Held]) -> List[Held]:
        """Send poison messages to the DLQ with the reason; return those safely there."""
        sent = []
        for i in range(0, len(held), RECEIVE_BATCH):
            chunk = held[i:i + RECEIVE_BATCH]
            entries = []
            for n, h in enumerate(chunk):
                assert h.poison is not None
                entries.append({
                    "Id": str(n), "MessageBody": h.body or "(empty)",
                    "MessageAttributes": {
                        "reason": {"DataType": "String", "StringValue": h.poison.reason},
                        "detail": {"DataType": "String",
                                   "StringValue": (h.poison.detail or "-")[:1000]},
                        "source_message_id": {"DataType": "String", "StringValue": h.message_id},
                        "receive_count": {"DataType": "Number",
                                          "StringValue": str(h.receive_count)},
                    }})
            try:
                resp = self.sqs.send_message_batch(QueueUrl=self.cfg.dlq_url, Entries=entries)
                failed = {f["Id"]: f.get("Code", "Unknown") for f in resp.get("Failed", [])}
            except Exception as exc:
                failed = {e["Id"]: _error_code(exc) for e in entries}
            for n, h in enumerate(chunk):
                assert h.poison is not None
                if str(n) in failed:
                    h.transient = TransientError("DlqSendFailed", failed[str(n)])
                    self.log.error("message_failed",
                                   f"Could not send poison message to the DLQ: {failed[str(n)]}",
                                   message_id=h.message_id, error="DlqSendFailed",
                                   transient=True, receive_count=h.receive_count)
                    self._release_transient([h])
                    continue
                self._count("sent_to_dlq")
                self.log.error("sent_to_dlq", f"Sent to the DLQ: {h.poison.detail}",
                               message_id=h.message_id, reason=h.poison.reason,
                               receive_count=h.receive_count)
                sent.append(h)
        return sent

    def _release_transient(self, held: List[Held],
                           error: Optional[TransientError] = None) -> None:
        for h in held:
            err = error or h.transient or TransientError("Unknown")
            self._count("transient_failures")
            self.log.warning("message_failed", f"Transient failure, will retry: {err}",
                             message_id=h.message_id, error=err.code, transient=True,
                             receive_count=h.receive_count,
                             retry_in_s=retry_delay(h.receive_count, self.cfg.visibility_timeout))
        self._change_visibility(
            held, lambda h: retry_delay(h.receive_count, self.cfg.visibility_timeout))
        self._forget(held)

    def _change_visibility(self, held: List[Held], seconds: Callable[[Held], int]) -> List[Held]:
        """ChangeMessageVisibilityBatch; returns the messages whose change succeeded."""
        ok = []
        for i in range(0, len(held), RECEIVE_BATCH):
            chunk = held[i:i + RECEIVE_BATCH]
            by_id = {str(n): h for n, h in enumerate(chunk)}
            try:
                resp = self.sqs.change_message_visibility_batch(
                    QueueUrl=self.cfg.queue_url,
                    Entries=[{"Id": k, "ReceiptHandle": h.receipt_handle,
                              "VisibilityTimeout": seconds(h)} for k, h in by_id.items()])
                failed = {f["Id"]: f.get("Code", "Unknown") for f in resp.get("Failed", [])}
            except Exception as exc:
                failed = {k: _error_code(exc) for k in by_id}
            for k, h in by_id.items():
                if k in failed:
                    self.log.warning("visibility_change_failed",
                                     f"ChangeMessageVisibility failed: {failed[k]}",
                                     message_id=h.message_id, code=failed[k])
                else:
                    ok.append(h)
        return ok

    # -- heartbeat ---------------------------------------------------------------------------

    def _heartbeat_loop(self) -> None:
        vt = self.cfg.visibility_timeout
        tick = max(0.5, min(vt / 6.0, 30.0))
        margin = max(2 * tick, vt / 3.0)
        while True:
            time.sleep(tick * (0.9 + 0.2 * random.random()))
            now = time.monotonic()
            with self._held_lock:
                due = [h for h in self._held.values() if h.deadline - now < margin]
            if not due:
                continue
            extended = self._change_visibility(due, lambda h: vt)
            for h in extended:
                h.deadline = now + vt
            self._count("visibility_extended", len(extended))
            self.log.debug("visibility_extended", "Extended visibility of held messages",
                           count=len(extended), requested=len(due))


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
    return type(exc).__name__
