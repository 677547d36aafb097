"""One round: parse the batch, fetch the objects in parallel, read what is indexed, write what
changed, then settle every message with SQS according to its one outcome."""
from __future__ import annotations

import concurrent.futures
import datetime
import time
from typing import Dict, List, Sequence, Tuple

from .events import ObjectRef, PoisonMessage, parse_body, should_index
from .fetch import ObjectFetcher
from .logs import JsonLog
from .messages import (
    DeadLetter,
    Failed,
    Finished,
    Outcome,
    Processed,
    ReceivedMessage,
    RecordResult,
    Retry,
    RetryLater,
    message_outcome,
)
from .opensearch import OpenSearch, SearchRequestError
from .planning import EXISTING_FIELDS, FetchedObject, bulk_item_results, plan_writes
from .settle import Settler
from .stats import Counters


class RoundProcessor:
    def __init__(self, *, prefix: str, fetcher: ObjectFetcher, search: OpenSearch,
                 fetch_pool: concurrent.futures.Executor, settler: Settler, log: JsonLog,
                 counters: Counters) -> None:
        self.prefix = prefix
        self.fetcher = fetcher
        self.search = search
        self.fetch_pool = fetch_pool
        self.settler = settler
        self.log = log
        self.counters = counters

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

        fetched = self._fetch_all(work, results)
        if fetched:
            self._index(fetched, results)

        outcomes = [(m, decided.get(m.receipt_handle) or message_outcome(results[m.receipt_handle]))
                    for m in batch]
        self.settler.settle(outcomes)
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        for m, outcome in outcomes:
            if isinstance(outcome, Finished):
                self._log_finished(m, outcome, duration_ms)

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

    def _fetch_all(self, work: Sequence[Tuple[ReceivedMessage, ObjectRef]],
                   results: Dict[str, List[RecordResult]]) -> List[FetchedObject]:
        futures = [(m, ref, self.fetch_pool.submit(self.fetcher.fetch, m, ref))
                   for m, ref in work]
        fetched = []
        for m, ref, fut in futures:
            try:
                fetched.append(fut.result())
            except (PoisonMessage, RetryLater) as exc:
                results[m.receipt_handle].append(Failed.of(ref, exc))
        return fetched

    def _index(self, fetched: Sequence[FetchedObject],
               results: Dict[str, List[RecordResult]]) -> None:
        def add(f: FetchedObject, result: RecordResult) -> None:
            results[f.owner.receipt_handle].append(result)

        try:
            existing = self.search.mget_sources(sorted({f.doc_id for f in fetched}),
                                                EXISTING_FIELDS)
        except SearchRequestError as exc:
            for f in fetched:
                add(f, Failed(f.ref, Retry(exc.code, str(exc))))
            return
        plan = plan_writes(fetched, existing)
        for f in plan.unchanged + plan.superseded:
            add(f, Processed(f.ref, "unchanged"))
        if not plan.writes:
            return
        now = datetime.datetime.now(datetime.timezone.utc).isoformat()
        docs = [(w.document.doc_id, w.document.version, dict(w.document.source, indexed_at=now))
                for w in plan.writes]
        try:
            items = self.search.bulk_index(docs)
        except SearchRequestError as exc:
            for w in plan.writes:
                for f in (w.document,) + w.duplicates:
                    add(f, Failed(f.ref, Retry(exc.code, str(exc)) if exc.transient
                                  else DeadLetter("index_rejected", str(exc))))
            return
        for f, result in bulk_item_results(plan.writes, items):
            add(f, result)
