"""One round: parse the batch, fetch the objects in parallel, read what is indexed, write what
changed, then settle every message with SQS according to its one outcome.

S3 and index failures that are not the message's fault go through the consumption gate
(gate.py): retried in-process, then consumption pauses until the dependency answers.
The round keeps what it fetched meanwhile: a retried `_mget`/`_bulk` never downloads again.
"""
from __future__ import annotations

import concurrent.futures
import datetime
import functools
import time
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from .fetch import ObjectFetcher
from .gate import ConsumptionGate, DependencyFault, Stopping
from .held import InFlight
from .index import OpenSearch, SearchRequestError, StoredDocument
from .logs import JsonLog
from .outcomes import (
    DeadLetter,
    Failed,
    Finished,
    Outcome,
    Processed,
    ReceivedMessage,
    RecordResult,
    Retry,
    message_outcome,
)
from .plan import EXISTING_FIELDS, FetchedObject, Write, bulk_item_results, plan_writes
from .s3_events import ObjectRef, PoisonMessage, parse_body, should_index
from .settle import Settler
from .stats import Counters

# Plan -> write rounds per batch when other writers keep changing the same documents.
MAX_PLANS = 5


def _index_fault(exc: SearchRequestError) -> DependencyFault:
    return DependencyFault(DependencyFault.INDEX, exc.code, str(exc))


class _BulkAttempt:
    """The writes of one plan; called again (by the gate) only for those the index refused."""

    def __init__(self, search: OpenSearch, writes: Sequence[Write]) -> None:
        self.search = search
        self.remaining: List[Write] = list(writes)
        self.done: List[Tuple[FetchedObject, RecordResult]] = []
        self.conflicts: List[Write] = []

    def __call__(self) -> None:
        now = datetime.datetime.now(datetime.timezone.utc).isoformat()
        try:
            items = self.search.bulk_write([w.request(now) for w in self.remaining])
        except SearchRequestError as exc:
            if exc.transient:
                raise _index_fault(exc) from None
            self.done += [(f, Failed(f.ref, DeadLetter("index_rejected", str(exc))))
                          for w in self.remaining for f in w.copies()]
            self.remaining = []
            return
        results = bulk_item_results(self.remaining, items)
        self.done += results.done
        self.conflicts += results.conflicts
        self.remaining = list(results.refused)
        if self.remaining:
            raise DependencyFault(DependencyFault.INDEX, results.refusal,
                                  f"{len(self.remaining)} of {len(items)} writes refused")


class RoundProcessor:
    def __init__(self, *, prefix: str, fetcher: ObjectFetcher, search: OpenSearch,
                 fetch_pool: concurrent.futures.Executor, settler: Settler,
                 gate: ConsumptionGate, in_flight: InFlight, log: JsonLog, counters: Counters,
                 settle_pool: Optional[concurrent.futures.Executor] = None) -> None:
        self.prefix = prefix
        self.fetcher = fetcher
        self.search = search
        self.fetch_pool = fetch_pool
        self.settler = settler
        self.gate = gate
        self.in_flight = in_flight
        self.log = log
        self.counters = counters
        # Settling (deletes, DLQ) runs there without holding up the next round; None: inline.
        self.settle_pool = settle_pool

    def process(self, batch: Sequence[ReceivedMessage]) -> None:
        started = time.monotonic()
        decided: Dict[str, Outcome] = {}  # receipt handle -> outcome known from the body alone
        results: Dict[str, List[RecordResult]] = {}  # receipt handle -> one result per record
        work: List[Tuple[ReceivedMessage, ObjectRef]] = []
        for m in batch:
            try:
                parsed = parse_body(m.body)
            except PoisonMessage as exc:
                decided[m.receipt_handle] = DeadLetter(exc.reason, exc.detail)
                continue
            if parsed.test_event:
                decided[m.receipt_handle] = Finished(test_bucket=parsed.test_bucket)
                continue
            results[m.receipt_handle] = []
            for ref in parsed.records:
                if should_index(ref, self.prefix):
                    work.append((m, ref))
                else:
                    results[m.receipt_handle].append(Processed(ref, "ignored"))

        try:
            fetched = self._fetch_all(work, results)
            if fetched:
                self._index(fetched, results)
        except Stopping:
            self.settler.give_back(batch)
            return

        outcomes = [(m, decided.get(m.receipt_handle) or message_outcome(results[m.receipt_handle]))
                    for m in batch]
        if self.settle_pool is None:
            self._settle(outcomes, started)
        else:
            self.settle_pool.submit(self._settle, outcomes, started)

    def _settle(self, outcomes: Sequence[Tuple[ReceivedMessage, Outcome]],
                started: float) -> None:
        try:
            self.settler.settle(outcomes)
        except Exception as exc:
            self.give_back_after_bug([m for m, _ in outcomes], exc)
            return
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        for m, outcome in outcomes:
            if isinstance(outcome, Finished):
                self._log_finished(m, outcome, duration_ms)

    def give_back_after_bug(self, batch: Sequence[ReceivedMessage], exc: Exception) -> None:
        """A bug must not strand messages until they expire: log it, retry them soon."""
        self.log.error("round_failed", f"Unexpected error in a round: {exc!r}",
                       error=type(exc).__name__)
        retry = Retry(type(exc).__name__)
        self.settler.release([(m, retry) for m in batch if m in self.in_flight])

    def _log_finished(self, m: ReceivedMessage, outcome: Finished, duration_ms: float) -> None:
        if outcome.test_bucket is not None:
            self.counters.add("test_event")
            self.log.info("message_processed", "S3 test event deleted without work",
                          message_id=m.message_id, bucket=outcome.test_bucket, key="",
                          outcome="test_event", duration_ms=duration_ms)
            return
        for r in outcome.results:
            self.counters.add(r.outcome)
            self.log.info("message_processed", f"{r.outcome}: s3://{r.ref.bucket}/{r.ref.key}",
                          message_id=m.message_id, bucket=r.ref.bucket, key=r.ref.key,
                          outcome=r.outcome, duration_ms=duration_ms)

    # -- fetch -------------------------------------------------------------------------------

    def _fetch_all(self, work: Sequence[Tuple[ReceivedMessage, ObjectRef]],
                   results: Dict[str, List[RecordResult]]) -> List[FetchedObject]:
        futures = [(m, ref, self.fetch_pool.submit(self.fetcher.fetch, m, ref))
                   for m, ref in work]
        fetched = []
        faulted = []
        for m, ref, fut in futures:
            try:
                fetched.append(fut.result())
            except PoisonMessage as exc:
                results[m.receipt_handle].append(Failed.of(ref, exc))
            except DependencyFault:
                faulted.append((m, ref))
        for m, ref in faulted:  # S3 (or our access to it) is failing: retry, then pause
            try:
                fetched.append(self.gate.call(functools.partial(self.fetcher.fetch, m, ref)))
            except PoisonMessage as exc:
                results[m.receipt_handle].append(Failed.of(ref, exc))
        return fetched

    # -- index -------------------------------------------------------------------------------

    def _mget(self, ids: Sequence[str]) -> Mapping[str, StoredDocument]:
        try:
            return self.search.mget(ids, EXISTING_FIELDS)
        except SearchRequestError as exc:
            if exc.transient:
                raise _index_fault(exc) from None
            raise

    def _index(self, fetched: Sequence[FetchedObject],
               results: Dict[str, List[RecordResult]]) -> None:
        def add(f: FetchedObject, result: RecordResult) -> None:
            results[f.owner.receipt_handle].append(result)

        pending = list(fetched)
        for _ in range(MAX_PLANS):
            try:
                stored = self.gate.call(functools.partial(
                    self._mget, sorted({f.doc_id for f in pending})))
            except SearchRequestError as exc:  # the request itself was refused: retry later
                for f in pending:
                    add(f, Failed(f.ref, Retry(exc.code, str(exc))))
                return
            plan = plan_writes(pending, stored)
            for f in plan.unchanged + plan.superseded:
                add(f, Processed(f.ref, "unchanged"))
            if not plan.writes:
                return
            attempt = _BulkAttempt(self.search, plan.writes)
            self.gate.call(attempt)
            for f, result in attempt.done:
                add(f, result)
            if not attempt.conflicts:
                return
            # Another writer changed these documents after our _mget: read them again.
            self.counters.add("write_conflicts", len(attempt.conflicts))
            pending = [f for w in attempt.conflicts for f in w.copies()]
        for f in pending:
            add(f, Failed(f.ref, Retry("WriteConflicts", "the document kept changing")))
