"""A small FAKE of the OpenSearch REST API (OpenSearch cannot run on the build machines).

It implements only what the worker uses, answering with OpenSearch's status codes and body
shapes (checked against OpenSearch 2.x responses):
  PUT  /<index>                      create; 400 resource_already_exists_exception if it exists
  POST /_bulk, POST /<index>/_bulk   NDJSON index/create/delete; per-item status, `errors`;
                                     version_type internal/external/external_gte with 409
                                     version_conflict_engine_exception; auto-creates the index
  POST|GET /<index>/_mget            {"ids": [...]} or {"docs": [{"_id": ...}]}, _source_includes
  GET  /<index>/_doc/<id>            found / 404 found:false / 404 index_not_found_exception
  POST|GET /<index>/_search          (ops reconcile, ops search) query: match_all, term, prefix,
                                     range, bool (filter, must, should, must_not,
                                     minimum_should_match) of those, and multi_match WITHOUT
                                     analysis (every query word a casefolded substring of the
                                     field; sub-fields read their parent; `<f>.tree` matches a
                                     folder and its ancestors); score = matching fields;
                                     highlight of the first matching word; sort on one field
                                     asc/desc (missing values last); search_after; size;
                                     _source includes
  Aliases, index templates, index creation with a body, delete, _count, _settings,
  _cat/indices, _reindex and _delete_by_query: harness/fake_opensearch_indices.py (alias
  resolution for every route above; `require_alias=true` on _bulk).
  Optimistic concurrency: _mget/_doc answer `_seq_no` and `_primary_term`; a bulk `index` with
  `if_seq_no`/`if_primary_term` that no longer match (or on a missing document) and a `create` of
  an existing document answer 409 version_conflict_engine_exception with OpenSearch's reasons.
Fault injection: fail_next(n, status) answers the next n requests with 429/5xx;
throttle(fraction) answers that share of requests 429 at random; down = True drops every
connection without an answer (unreachable); block_writes("index") fails bulk writes per item
with 403 cluster_block_exception (index write block), block_writes("cluster") the whole request
(cluster read-only); reject_doc(id, ...) makes bulk items for that id fail; after_bulk (a callable)
runs after a _bulk request was applied and before it is answered (to kill or delay the worker).
It records every request (method, path, headers) so tests can assert on signing and count
requests honestly, every applied write in `write_log` (id, op, etag, version_id, sequencer), how
many times each document was written (`writes_per_doc`), which is how `make local-demo` shows
that a replayed notification writes nothing, and the time.monotonic() at which each document was
written (`written_at`).
For benchmarks and races, latency(method, path, body) -> seconds delays each answer as a real
cluster would (the sleep comes before the request is applied: a document is written when its
answer leaves); set it in the constructor or as the attribute.
Sockets use TCP_NODELAY: http.server writes headers and body separately, and delayed ACKs would
otherwise add about 40 ms to answers on kept-alive connections.

Shared by `make local` (local/pipeline.py), the tests and the benchmarks.
"""
from __future__ import annotations

import json
import random
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from harness.fake_opensearch_indices import AliasError, IndexAdmin
from harness.http_server import BackgroundServer, QuietHandler


def _error(status: int, etype: str, reason: str, **extra: Any) -> tuple[int, dict]:
    cause = {"type": etype, "reason": reason, **extra}
    return status, {"error": {"root_cause": [cause], **cause}, "status": status}


def _query(query: dict) -> Callable[[dict], bool]:
    """A predicate over a document's source for the few query types the fake knows."""
    ((kind, spec),) = query.items()
    if kind == "match_all":
        return lambda source: True
    if kind in ("term", "prefix"):
        ((field, value),) = spec.items()
        value = value.get("value") if isinstance(value, dict) else value
        if kind == "term":
            return lambda source: _term_matches(source, field, value)
        return lambda source: isinstance(source.get(field), str) and source[field].startswith(value)
    if kind == "range":
        ((field, bounds),) = spec.items()
        tests = {"gte": lambda v, b: v >= b, "gt": lambda v, b: v > b,
                 "lte": lambda v, b: v <= b, "lt": lambda v, b: v < b}
        checks = [(tests[op], b) for op, b in bounds.items() if op in tests]
        return lambda source: source.get(field) is not None and all(
            test(source[field], b) for test, b in checks)
    if kind == "multi_match":
        return lambda source: _multi_match_score(spec, source) > 0
    if kind == "bool" and set(spec) <= {"filter", "must", "should", "must_not",
                                        "minimum_should_match"}:
        def parts(key: str) -> list:
            value = spec.get(key, [])
            return [_query(q) for q in (value if isinstance(value, list) else [value])]
        required = parts("filter") + parts("must")
        should, must_not = parts("should"), parts("must_not")
        least = int(spec.get("minimum_should_match", 0 if required else 1)) if should else 0
        return lambda source: (all(p(source) for p in required)
                               and not any(p(source) for p in must_not)
                               and sum(1 for p in should if p(source)) >= least)
    raise KeyError(f"query type {kind}")


def _base_field(field: str) -> tuple[str, str]:
    """("name", "words") for "name.words^3": the fake reads sub-fields from their parent."""
    name = field.split("^")[0]
    base, _, sub = name.partition(".")
    return base, sub


def _term_matches(source: dict, field: str, value: Any) -> bool:
    base, sub = _base_field(field)
    if sub == "tree":  # a path_hierarchy sub-field: the folder or any of its ancestors
        folder = source.get(base)
        return isinstance(folder, str) and (folder == value or folder.startswith(value + "/"))
    return source.get(field if not sub else base) == value


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _multi_match_score(spec: dict, source: dict) -> int:
    """The fake's multi_match (documented subset, no analysis): a field matches when every
    whitespace-separated query word occurs in it, NFKC-casefolded, as a substring; the score is
    the number of fields that match (type most_fields, operator and)."""
    words = _fold(str(spec.get("query", ""))).split()
    score = 0
    for field in spec.get("fields", []):
        value = source.get(_base_field(field)[0])
        if isinstance(value, str) and words and all(w in _fold(value) for w in words):
            score += 1
    return score


def _score(query: dict, source: dict) -> int:
    if not query:
        return 1
    ((kind, spec),) = query.items()
    if kind == "multi_match":
        return _multi_match_score(spec, source)
    if kind == "bool":
        subs = [q for key in ("must", "should") for q in (
            spec.get(key) if isinstance(spec.get(key), list) else [spec[key]] if key in spec
            else [])]
        return max(1, sum(_score(q, source) for q in subs))
    return 1


def _highlight(request: dict, source: dict) -> dict[str, list[str]]:
    """Each highlighted field (sub-fields read their parent) whose text contains a query word:
    the first occurrence with up to 40 characters around it, in the requested tags."""
    spec = request["highlight"]
    pre, post = spec.get("pre_tags", ["<em>"])[0], spec.get("post_tags", ["</em>"])[0]
    words: list[str] = []

    def collect(query: dict) -> None:
        ((kind, body),) = query.items()
        if kind == "multi_match":
            words.extend(_fold(str(body.get("query", ""))).split())
        elif kind == "bool":
            for key in ("must", "should"):
                for q in body.get(key) if isinstance(body.get(key), list) else (
                        [body[key]] if key in body else []):
                    collect(q)

    collect(request.get("query", {"match_all": {}}))
    out: dict[str, list[str]] = {}
    for field in spec.get("fields", {}):
        text = source.get(_base_field(field)[0])
        if not isinstance(text, str):
            continue
        folded = _fold(text)
        for word in words:
            at = folded.find(word)
            if at >= 0 and len(folded) == len(text):
                start = max(0, at - 40)
                out[field] = [text[start:at] + pre + text[at:at + len(word)] + post
                              + text[at + len(word):at + len(word) + 40]]
                break
    return out


class FakeOpenSearch(IndexAdmin, BackgroundServer):
    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 latency: Callable[[str, str, bytes], float] | None = None) -> None:
        self.lock = threading.Lock()
        self.indices: dict[str, dict[str, dict]] = {}  # index -> id -> {version, seq, source}
        self.uuids: dict[str, str] = {}
        self.seq_no = 0
        self.requests: list[dict] = []
        self.writes = 0  # documents actually written (created or updated)
        self.writes_per_doc: dict[str, int] = {}
        self._fail: list[int] = []
        self._reject: dict[str, tuple[int, str]] = {}
        self.after_bulk: Callable[[], None] | None = None
        self.write_log: list[dict] = []
        self.latency = latency
        self.down = False
        self._throttle = 0.0
        self._random = random.Random(7)
        self._write_block: str | None = None
        self._init_index_admin()
        fake = self

        class Handler(QuietHandler):
            def _handle(self) -> None:
                body = self.read_body()
                if fake.down:  # unreachable: the connection closes without an answer
                    with fake.lock:
                        fake.requests.append({"method": self.command, "path": self.path,
                                              "headers": dict(self.headers), "dropped": True})
                    self.close_connection = True
                    return
                if fake.latency is not None:
                    time.sleep(fake.latency(self.command, self.path, body))
                status, payload = fake.dispatch(self.command, self.path, dict(self.headers), body)
                hook = fake.after_bulk
                if hook is not None and "_bulk" in self.path:
                    hook()  # lets tests stop the world after a write is applied
                data = json.dumps(payload).encode() if payload is not None else b""
                self.reply(status, data, {"Content-Type": "application/json; charset=UTF-8"})

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle

        super().__init__(Handler, host, port)

    # -- control -----------------------------------------------------------------------------

    def fail_next(self, n: int, status: int = 429) -> None:
        with self.lock:
            self._fail.extend([status] * n)

    def throttle(self, fraction: float) -> None:
        """Answer this share of requests (0-1) with 429, at random (seeded)."""
        with self.lock:
            self._throttle = fraction

    def block_writes(self, scope: str | None) -> None:
        """"index": bulk writes fail per item with 403 (index.blocks.write); "cluster": the
        whole bulk request fails with 403 (cluster read-only); None lifts the block."""
        if scope not in (None, "index", "cluster"):
            raise ValueError(f"scope={scope!r}")
        with self.lock:
            self._write_block = scope

    def reject_doc(self, doc_id: str, status: int = 400,
                   etype: str = "mapper_parsing_exception") -> None:
        with self.lock:
            self._reject[doc_id] = (status, etype)

    def reset(self) -> None:
        with self.lock:
            self.indices.clear()
            self._init_index_admin()
            self.requests.clear()
            self._fail.clear()
            self._reject.clear()
            self.writes = 0
            self.writes_per_doc.clear()
            self.write_log.clear()

    def docs(self, index: str) -> dict[str, dict]:
        """The documents of an index, or of the one index behind an alias ({} if none)."""
        with self.lock:
            members = self.aliases.get(index)
            if members and len(members) == 1:
                index = next(iter(members))
            return {k: dict(v) for k, v in self.indices.get(index, {}).items()}

    def bootstrap(self, base: str, *, shards: int = 1, replicas: int = 0) -> None:
        """What a deploy does (search_index.bootstrap_requests): the template, the first
        versioned index and its read and write aliases."""
        from search_index import apply_requests, bootstrap_requests

        def send(method: str, path: str, body: Any) -> tuple[int, Any]:
            data = json.dumps(body).encode() if body is not None else b""
            return self.dispatch(method, path, {"Content-Type": "application/json"}, data)

        apply_requests(send, bootstrap_requests(base, shards=shards, replicas=replicas))

    def count(self, method: str | None = None, path_part: str = "") -> int:
        with self.lock:
            return sum(1 for r in self.requests
                       if (method is None or r["method"] == method) and path_part in r["path"])

    # -- API ---------------------------------------------------------------------------------

    def dispatch(self, method: str, raw_path: str, headers: dict[str, str],
                 body: bytes) -> tuple[int, Any]:
        url = urlsplit(raw_path)
        parts = [unquote(p) for p in url.path.split("/") if p]
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        with self.lock:
            self.requests.append({"method": method, "path": raw_path, "headers": headers})
            if self._fail:
                status = self._fail.pop(0)
                if status == 429:
                    return _error(429, "es_rejected_execution_exception",
                                  "rejected execution of coordinating operation")
                return _error(status, "unavailable_shards_exception" if status == 503
                              else "internal_server_error", "fake injected failure")
            if self._throttle and self._random.random() < self._throttle:
                return _error(429, "es_rejected_execution_exception",
                              "rejected execution of coordinating operation")
            admin = self.dispatch_admin(method, parts, query, body)
            if admin is not None:
                return admin
            if method == "POST" and parts and parts[-1] == "_bulk" and len(parts) <= 2:
                if self._write_block == "cluster":
                    return _error(403, "cluster_block_exception",
                                  "blocked by: [FORBIDDEN/6/cluster read-only (api)];")
                return self._bulk(parts[0] if len(parts) == 2 else None, headers, body,
                                  require_alias=query.get("require_alias") == "true")
            if method in ("GET", "POST") and len(parts) == 2 and parts[1] == "_mget":
                return self._mget(parts[0], body, query)
            if method == "GET" and len(parts) == 3 and parts[1] == "_doc":
                return self._get(parts[0], parts[2])
            if method in ("GET", "POST") and len(parts) == 2 and parts[1] == "_search":
                return self._search(parts[0], body)
            return _error(400, "illegal_argument_exception",
                          f"fake does not implement {method} {url.path}")

    def _get(self, name: str, doc_id: str) -> tuple[int, dict]:
        try:
            index = self.resolve_single(name)
        except AliasError as exc:
            return exc.answer
        doc = self.indices[index].get(doc_id)
        if doc is None:
            return 404, {"_index": index, "_id": doc_id, "found": False}
        return 200, {"_index": index, "_id": doc_id, "_version": doc["version"],
                     "_seq_no": doc["seq_no"], "_primary_term": 1, "found": True,
                     "_source": doc["source"]}

    def _mget(self, name: str, body: bytes, query: dict[str, str]) -> tuple[int, dict]:
        try:
            index = self.resolve_single(name)
        except AliasError as exc:
            return exc.answer
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            return _error(400, "parse_exception", "request body is required")
        ids = req.get("ids") or [d.get("_id") for d in req.get("docs", [])]
        if not ids:
            return _error(400, "action_request_validation_exception",
                          "Validation Failed: 1: no documents to get;")
        includes = [f for f in query.get("_source_includes", "").split(",") if f]
        docs = []
        for doc_id in ids:
            status, doc = self._get(index, doc_id)
            if doc.get("found") and includes:
                doc["_source"] = {k: v for k, v in doc["_source"].items() if k in includes}
            docs.append(doc)
        return 200, {"docs": docs}

    def _search(self, name: str, body: bytes) -> tuple[int, dict]:
        try:
            indices = self.resolve_read(name)
        except AliasError as exc:
            return exc.answer
        try:
            req = json.loads(body or b"{}")
            matches = _query(req.get("query", {"match_all": {}}))
        except (ValueError, KeyError) as error:
            return _error(400, "parsing_exception", f"fake cannot parse the query: {error}")
        hits = [(doc_id, dict(doc, index=index)) for index in indices
                for doc_id, doc in self.indices[index].items() if matches(doc["source"])]
        if not req.get("sort"):  # by score: the number of matching query parts, best first
            hits.sort(key=lambda h: -_score(req.get("query", {}), h[1]["source"]))
        sort = req.get("sort") or []
        if len(sort) > 1:
            return _error(400, "illegal_argument_exception", "fake sorts on one field only")
        field, order = None, "asc"
        if sort:
            spec = sort[0]
            field, order = (spec, "asc") if isinstance(spec, str) else next(iter(spec.items()))
            order = order.get("order", "asc") if isinstance(order, dict) else order
            present = sorted((h for h in hits if h[1]["source"].get(field) is not None),
                             key=lambda h: h[1]["source"][field], reverse=order == "desc")
            hits = present + [h for h in hits if h[1]["source"].get(field) is None]
            after = req.get("search_after")
            if after is not None:
                if len(after) != 1:
                    return _error(400, "illegal_argument_exception",
                                  "search_after has 1 value(s) but sort has 1 field")
                beyond = (lambda v: v > after[0]) if order == "asc" else (lambda v: v < after[0])
                hits = [h for h in hits if h[1]["source"].get(field) is not None
                        and beyond(h[1]["source"][field])]
        elif "search_after" in req:
            return _error(400, "action_request_validation_exception",
                          "Validation Failed: 1: sort must be on a field when search_after is used;")
        total = len(hits)
        hits = hits[: int(req.get("size", 10))]
        includes = req.get("_source")
        out = []
        for doc_id, doc in hits:
            source = doc["source"]
            if isinstance(includes, list):
                source = {k: v for k, v in source.items() if k in includes}
            hit = {"_index": doc["index"], "_id": doc_id,
                   "_score": None if sort else float(_score(req.get("query", {}), doc["source"])),
                   "_source": source}
            if "highlight" in req:
                hit["highlight"] = _highlight(req, doc["source"])
            if sort:
                hit["sort"] = [doc["source"].get(field)]
            out.append(hit)
        return 200, {"took": 1, "timed_out": False,
                     "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                     "hits": {"total": {"value": total, "relation": "eq"},
                              "max_score": None if sort else 1.0, "hits": out}}

    def _bulk(self, default_index: str | None, headers: dict[str, str],
              body: bytes, require_alias: bool = False) -> tuple[int, dict]:
        ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
        if not ctype.startswith(("application/json", "application/x-ndjson")):
            return 406, {"error": f"Content-Type header [{ctype}] is not supported",
                         "status": 406}
        text = body.decode("utf-8")
        if not text.endswith("\n"):
            return _error(400, "illegal_argument_exception",
                          "The bulk request must be terminated by a newline [\\n]")
        lines = [ln for ln in text.split("\n") if ln.strip()]
        items, errors, i = [], False, 0
        while i < len(lines):
            try:
                action = json.loads(lines[i])
                (op, meta), = action.items()
            except (ValueError, AttributeError):
                return _error(400, "illegal_argument_exception",
                              f"Malformed action/metadata line [{i + 1}]")
            if op not in ("index", "create", "delete"):
                return _error(400, "illegal_argument_exception",
                              f"Malformed action/metadata line [{i + 1}], expected one of "
                              f"[create, delete, index, update] but found [{op}]")
            source = None
            if op != "delete":
                if i + 1 >= len(lines):
                    return _error(400, "action_request_validation_exception",
                                  "Validation Failed: 1: no requests added;")
                try:
                    source = json.loads(lines[i + 1])
                except ValueError:
                    source = ValueError
                i += 2
            else:
                i += 1
            item = self._bulk_item(op, meta, source, default_index, require_alias)
            errors = errors or "error" in item
            items.append({op: item})
        return 200, {"took": 1, "errors": errors, "items": items}

    def _bulk_item(self, op: str, meta: dict, source: Any, default_index: str | None,
                   require_alias: bool = False) -> dict:
        index = meta.get("_index") or default_index
        doc_id = meta.get("_id") or uuid.uuid4().hex
        base = {"_index": index, "_id": doc_id}

        def fail(status: int, etype: str, reason: str) -> dict:
            return {**base, "status": status, "error": {
                "type": etype, "reason": reason, "index": index, "shard": "0",
                "index_uuid": self.uuids.get(index, "_na_")}}

        if index is None:
            return fail(400, "action_request_validation_exception", "index is missing")
        if doc_id in self._reject:
            status, etype = self._reject[doc_id]
            return fail(status, etype, "failed to parse (injected by the fake)")
        if source is ValueError:
            return fail(400, "mapper_parsing_exception", "failed to parse")
        if self._write_block == "index":
            return fail(403, "cluster_block_exception",
                        f"index [{index}] blocked by: [FORBIDDEN/8/index write (api)];")
        if require_alias and not self.is_alias(index):
            return {**base, "status": 404, "error": {
                "type": "index_not_found_exception",
                "reason": f"no such index [{index}] and [require_alias] request flag is [true] "
                          f"and [{index}] is not an alias",
                "index": index, "resource.type": "index_or_alias", "resource.id": index,
                "index_uuid": "_na_"}}
        try:
            target = self.resolve_write(index)
        except AliasError as exc:
            cause = exc.answer[1]["error"]
            return fail(exc.answer[0], cause["type"], cause["reason"])
        if target is None:
            self.create_index(index)  # action.auto_create_index defaults to true
            target = index
        index = target
        base["_index"] = index
        docs = self.indices[index]
        current = docs.get(doc_id)
        vtype = meta.get("version_type", "internal")
        version = meta.get("version")
        if_seq_no, if_term = meta.get("if_seq_no"), meta.get("if_primary_term")
        if (if_seq_no is None) != (if_term is None):
            return fail(400, "action_request_validation_exception",
                        "Validation Failed: 1: ifSeqNo is set, but primary term is [0];")
        if if_seq_no is not None:
            if vtype != "internal" or version is not None:
                return fail(400, "action_request_validation_exception",
                            "Validation Failed: 1: compare and write operations can not use "
                            "versioning;")
            if current is None:
                return fail(409, "version_conflict_engine_exception",
                            f"[{doc_id}]: version conflict, required seqNo [{if_seq_no}], "
                            f"primary term [{if_term}]. but no document was found")
            if current["seq_no"] != if_seq_no or if_term != 1:
                return fail(409, "version_conflict_engine_exception",
                            f"[{doc_id}]: version conflict, required seqNo [{if_seq_no}], "
                            f"primary term [{if_term}]. current document has seqNo "
                            f"[{current['seq_no']}] and primary term [1]")
        if op == "delete":
            if current is None:
                return {**base, "_version": 1, "result": "not_found", "status": 404}
            del docs[doc_id]
            return {**base, "_version": current["version"] + 1, "result": "deleted",
                    "status": 200}
        if op == "create" and current is not None:
            return fail(409, "version_conflict_engine_exception",
                        f"[{doc_id}]: version conflict, document already exists "
                        f"(current version [{current['version']}])")
        if vtype in ("external", "external_gte"):
            if not isinstance(version, int) or version < 0:
                return fail(400, "action_request_validation_exception",
                            f"Validation Failed: 1: illegal version value [{version}] for version type "
                            f"[{vtype.upper()}];")
            if current is not None:
                if vtype == "external" and version <= current["version"]:
                    return fail(409, "version_conflict_engine_exception",
                                f"[{doc_id}]: version conflict, current version "
                                f"[{current['version']}] is higher or equal to the one "
                                f"provided [{version}]")
                if vtype == "external_gte" and version < current["version"]:
                    return fail(409, "version_conflict_engine_exception",
                                f"[{doc_id}]: version conflict, current version "
                                f"[{current['version']}] is higher than the one provided "
                                f"[{version}]")
            new_version = version
        elif vtype == "internal":
            new_version = 1 if current is None else current["version"] + 1
        else:
            return fail(400, "illegal_argument_exception", f"No version type match [{vtype}]")
        self.seq_no += 1
        docs[doc_id] = {"version": new_version, "seq_no": self.seq_no, "source": source,
                        "written_at": time.monotonic()}
        self.writes += 1
        self.writes_per_doc[doc_id] = self.writes_per_doc.get(doc_id, 0) + 1
        src = source if isinstance(source, dict) else {}
        self.write_log.append({"id": doc_id, "op": op, "etag": src.get("etag"),
                               "version_id": src.get("version_id"),
                               "sequencer": src.get("sequencer")})
        created = current is None
        return {**base, "_version": new_version, "result": "created" if created else "updated",
                "_shards": {"total": 2, "successful": 1, "failed": 0},
                "_seq_no": self.seq_no, "_primary_term": 1, "status": 201 if created else 200}
