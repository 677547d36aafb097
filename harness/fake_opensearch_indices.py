"""Index administration for the FAKE OpenSearch (local/fake_opensearch.py): aliases, composable
index templates, index creation with a body, delete, `_count`, `_cat/indices`, `_settings` and
`_reindex`, as the deploy-time bootstrap, the worker and `python -m ops index` use them.

Status codes and error bodies follow OpenSearch 2.x (the 7.10 lineage):
  PUT  /<index> {settings, mappings, aliases}  the best matching template (highest priority)
       is merged in; 400 resource_already_exists_exception, 400 invalid_index_name_exception
       (the name is an alias), 400 invalid_alias_name_exception (an alias named like an index)
  DELETE /<index>                     404 index_not_found_exception; 400 illegal_argument_exception
                                      when the name is an alias; removes the index's aliases
  PUT|GET /_index_template/<name>     400 action_request_validation_exception without
                                      index_patterns; GET 404 resource_not_found_exception
  POST /_aliases {"actions": [...]}   add / remove / remove_index, applied atomically (all or
                                      none); 404 index_not_found_exception, 404
                                      aliases_not_found_exception, 400 illegal_state_exception
                                      (two write indices)
  GET  /_alias[/<names>], /<index>/_alias[/<names>]   404 {"error": "alias [x] missing"} (a string,
                                      as the real API answers), with the aliases that were found
  GET  /<index or alias>/_count       {"count": n}
  GET  /<index>/_settings             settings with index.creation_date, number_of_shards, ...
  GET  /_cat/indices[/<pattern>]?format=json   strings, as _cat answers
  GET  /<index>/_mapping              {index: {"mappings": ...}}
  POST /<index>[,<index>]/_refresh    a no-op (the fake's writes are visible at once)
  POST /_reindex                      source.index (alias or index, optional query), dest.index
                                      (alias resolves to its write index), dest.op_type
                                      index|create, conflicts abort|proceed;
                                      wait_for_completion=false answers {"task": id}, and
                                      GET /_tasks/<id> the completed task (the copy itself is
                                      synchronous)
  POST /<index or alias>[,...]/_delete_by_query   query (the fake's subset), conflicts
                                      abort|proceed, wait_for_completion=false as for _reindex;
                                      404 index_not_found_exception, 400
                                      action_request_validation_exception without a query.
                                      The fake deletes under its lock, so it never meets the
                                      version conflict a document written between the real
                                      API's search and its delete raises (skipped with
                                      conflicts=proceed, not deleted)
Alias resolution (FakeOpenSearch.resolve): an alias with several indices reads from all of
them (search, count); a single-document read through it is refused; a write goes to its write
index (is_write_index, or its only index) or is refused with OpenSearch's message. A bulk
request with `require_alias=true` refuses targets that are not aliases and never auto-creates.
"""
from __future__ import annotations

import copy
import fnmatch
import json
import time
import uuid
from typing import Any


def error(status: int, etype: str, reason: str, **extra: Any) -> tuple[int, dict]:
    cause = {"type": etype, "reason": reason, **extra}
    return status, {"error": {"root_cause": [cause], **cause}, "status": status}


class AliasError(Exception):
    def __init__(self, answer: tuple[int, dict]) -> None:
        super().__init__(answer[1]["error"]["reason"])
        self.answer = answer


def _merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _flat_settings(settings: dict) -> dict:
    """{"index": {"number_of_shards": 2}} and {"number_of_shards": 2} alike -> index.* keys."""
    index = dict(settings.get("index", {}))
    for key, value in settings.items():
        if key != "index":
            index[key.removeprefix("index.")] = value
    return index


class IndexAdmin:
    """Mixed into FakeOpenSearch; every method runs under its lock."""

    indices: dict[str, dict[str, dict]]
    uuids: dict[str, str]

    def _init_index_admin(self) -> None:
        self.aliases: dict[str, dict[str, dict]] = {}  # alias -> index -> properties
        self.templates: dict[str, dict] = {}
        self.index_meta: dict[str, dict] = {}  # index -> {"settings": ..., "mappings": ...}
        # reindex and delete-by-query tasks (already completed): status, answer, action
        self.tasks: dict[str, tuple[int, dict, str]] = {}

    # -- resolution --------------------------------------------------------------------------

    def index_missing(self, name: str) -> tuple[int, dict]:
        return error(404, "index_not_found_exception", f"no such index [{name}]",
                     index=name, **{"resource.type": "index_or_alias", "resource.id": name})

    def resolve_read(self, name: str) -> list[str]:
        """The indices a search or count on `name` reads; AliasError if none."""
        if name in self.indices:
            return [name]
        if name in self.aliases:
            return sorted(self.aliases[name])
        matched = sorted(i for i in self.indices if "*" in name and fnmatch.fnmatchcase(i, name))
        if matched or "*" in name:
            return matched
        raise AliasError(self.index_missing(name))

    def resolve_single(self, name: str) -> str:
        """The one index a get/mget on `name` reads; AliasError otherwise."""
        indices = self.resolve_read(name)
        if len(indices) != 1:
            raise AliasError(error(
                400, "illegal_argument_exception",
                f"alias [{name}] has more than one index associated with it "
                f"[{', '.join(indices)}], can't execute a single index op"))
        return indices[0]

    def resolve_write(self, name: str) -> str | None:
        """The index a write to `name` goes to; None: no such index or alias (auto-create)."""
        if name in self.indices:
            return name
        members = self.aliases.get(name)
        if not members:
            return None
        flagged = [i for i, p in members.items() if p.get("is_write_index") is True]
        if flagged:
            return flagged[0]
        if len(members) == 1 and next(iter(members.values())).get("is_write_index") is not False:
            return next(iter(members))
        raise AliasError(error(
            400, "illegal_argument_exception",
            f"no write index is defined for alias [{name}]. The write index may be explicitly "
            "disabled using is_write_index=false or the alias points to multiple indices "
            "without one being designated as a write index"))

    def is_alias(self, name: str) -> bool:
        return name in self.aliases

    # -- routing -----------------------------------------------------------------------------

    def dispatch_admin(self, method: str, parts: list[str], query: dict[str, str],
                       body: bytes) -> tuple[int, Any] | None:
        """The answer for an administration request, or None if it is not one."""
        try:
            return self._route(method, parts, query, body)
        except AliasError as exc:
            return exc.answer

    def _route(self, method: str, parts: list[str], query: dict[str, str],
               body: bytes) -> tuple[int, Any] | None:
        n = len(parts)
        if n >= 1 and parts[0] == "_index_template":
            if n == 2 and method == "PUT":
                return self._put_template(parts[1], body)
            if n == 2 and method == "GET":
                return self._get_template(parts[1])
        if parts == ["_aliases"] and method == "POST":
            return self._update_aliases(body)
        if n >= 1 and parts[0] == "_alias" and method == "GET" and n <= 2:
            return self._get_aliases(None, parts[1].split(",") if n == 2 else None)
        if n in (2, 3) and parts[1] == "_alias" and method == "GET":
            return self._get_aliases(parts[0], parts[2].split(",") if n == 3 else None)
        if parts[:2] == ["_cat", "indices"] and method == "GET" and n <= 3:
            return self._cat_indices(parts[2] if n == 3 else "*", query)
        if parts == ["_reindex"] and method == "POST":
            return self._as_task(self._reindex(body), query, "indices:data/write/reindex")
        if n == 2 and parts[1] == "_delete_by_query" and method == "POST":
            return self._as_task(self._delete_by_query(parts[0], body), query,
                                 "indices:data/write/delete/byquery")
        if n == 2 and parts[0] == "_tasks" and method == "GET":
            return self._task(parts[1])
        if n == 2 and parts[1] == "_refresh" and method in ("POST", "GET"):
            indices = [i for p in parts[0].split(",") for i in self.resolve_read(p)]
            return 200, {"_shards": {"total": len(indices), "successful": len(indices),
                                     "failed": 0}}
        if n == 2 and parts[1] == "_mapping" and method == "GET":
            return 200, {i: {"mappings": copy.deepcopy(
                self.index_meta.get(i, {}).get("mappings", {}))}
                for i in self.resolve_read(parts[0])}
        if n == 2 and parts[1] == "_count" and method in ("GET", "POST"):
            return self._count(parts[0], body)
        if n == 2 and parts[1] == "_settings" and method == "GET":
            return self._settings(parts[0])
        if n == 1 and method == "DELETE" and not parts[0].startswith("_"):
            return self._delete_index(parts[0])
        if n == 1 and method == "HEAD" and not parts[0].startswith("_"):
            return (200 if parts[0] in self.indices or parts[0] in self.aliases else 404), None
        if n == 1 and method == "PUT" and not parts[0].startswith("_"):
            return self.create_index(parts[0], body)
        return None

    # -- indices -----------------------------------------------------------------------------

    def create_index(self, index: str, body: bytes = b"") -> tuple[int, dict]:
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return error(400, "parse_exception", "Failed to parse content to map")
        if index in self.aliases:
            return error(400, "invalid_index_name_exception",
                         f"Invalid index name [{index}], already exists as alias",
                         index=index, index_uuid="_na_")
        if index in self.indices:
            return error(400, "resource_already_exists_exception",
                         f"index [{index}/{self.uuids[index]}] already exists",
                         index_uuid=self.uuids[index], index=index)
        for alias in request.get("aliases", {}):
            if alias in self.indices:
                return error(400, "invalid_alias_name_exception",
                             f"Invalid alias name [{alias}], an index exists with the same "
                             "name as the alias", index=index)
        template = self._template_for(index)
        settings = _flat_settings(template.get("settings", {}))
        settings.update(_flat_settings(request.get("settings", {})))
        settings.setdefault("number_of_shards", 1)
        settings.setdefault("number_of_replicas", 1)
        settings["creation_date"] = str(int(time.time() * 1000))
        mappings = _merge(template.get("mappings", {}), request.get("mappings", {}))
        aliases = {a: p for a, p in template.get("aliases", {}).items()}
        aliases.update(request.get("aliases", {}))
        self.indices[index] = {}
        self.uuids[index] = uuid.uuid4().hex[:22]
        self.index_meta[index] = {"settings": settings, "mappings": mappings}
        for alias, props in aliases.items():
            self.aliases.setdefault(alias, {})[index] = dict(props or {})
        return 200, {"acknowledged": True, "shards_acknowledged": True, "index": index}

    def _template_for(self, index: str) -> dict:
        best: tuple[int, dict] | None = None
        for body in self.templates.values():
            if any(fnmatch.fnmatchcase(index, p) for p in body["index_patterns"]):
                priority = int(body.get("priority", 0))
                if best is None or priority > best[0]:
                    best = (priority, body.get("template", {}))
        return best[1] if best else {}

    def _delete_index(self, name: str) -> tuple[int, dict]:
        if name in self.aliases:
            return error(400, "illegal_argument_exception",
                         f"The provided expression [{name}] matches an alias, specify the "
                         "corresponding concrete indices instead.")
        if name not in self.indices:
            return self.index_missing(name)
        del self.indices[name]
        self.index_meta.pop(name, None)
        for alias in list(self.aliases):
            self.aliases[alias].pop(name, None)
            if not self.aliases[alias]:
                del self.aliases[alias]
        return 200, {"acknowledged": True}

    def _settings(self, name: str) -> tuple[int, dict]:
        out = {}
        for index in self.resolve_read(name):
            settings = self.index_meta.get(index, {}).get("settings", {
                "number_of_shards": 1, "number_of_replicas": 1})
            out[index] = {"settings": {"index": {
                k: str(v) if not isinstance(v, dict) else v for k, v in settings.items()}}}
        return 200, out

    def _count(self, name: str, body: bytes) -> tuple[int, dict]:
        from harness.fake_opensearch import _query

        indices = self.resolve_read(name)
        request = json.loads(body or b"{}")
        try:
            matches = _query(request.get("query", {"match_all": {}}))
        except (KeyError, ValueError) as exc:
            return error(400, "parsing_exception", f"fake cannot parse the query: {exc}")
        count = sum(1 for i in indices for d in self.indices[i].values() if matches(d["source"]))
        return 200, {"count": count, "_shards": {"total": len(indices),
                                                 "successful": len(indices),
                                                 "skipped": 0, "failed": 0}}

    def _cat_indices(self, pattern: str, query: dict[str, str]) -> tuple[int, Any]:
        if query.get("format") != "json":
            return error(400, "illegal_argument_exception", "fake answers _cat with format=json only")
        names: list[str] = []
        for p in pattern.split(","):
            names += self.resolve_read(p) if "*" not in p else [
                i for i in self.indices if fnmatch.fnmatchcase(i, p)]
        rows = []
        for index in sorted(set(names)):
            settings = self.index_meta.get(index, {}).get("settings", {})
            rows.append({"health": "green", "status": "open", "index": index,
                         "uuid": self.uuids.get(index, ""),
                         "pri": str(settings.get("number_of_shards", 1)),
                         "rep": str(settings.get("number_of_replicas", 1)),
                         "docs.count": str(len(self.indices[index])), "docs.deleted": "0",
                         "store.size": "1kb", "pri.store.size": "1kb"})
        return 200, rows

    # -- templates ---------------------------------------------------------------------------

    def _put_template(self, name: str, body: bytes) -> tuple[int, dict]:
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return error(400, "parse_exception", "Failed to parse content to map")
        if not request.get("index_patterns"):
            return error(400, "action_request_validation_exception",
                         "Validation Failed: 1: index patterns are missing;")
        self.templates[name] = request
        return 200, {"acknowledged": True}

    def _get_template(self, name: str) -> tuple[int, dict]:
        found = [{"name": n, "index_template": copy.deepcopy(b)}
                 for n, b in sorted(self.templates.items()) if fnmatch.fnmatchcase(n, name)]
        if not found:
            return error(404, "resource_not_found_exception",
                         f"index template matching [{name}] not found")
        return 200, {"index_templates": found}

    # -- aliases -----------------------------------------------------------------------------

    def _update_aliases(self, body: bytes) -> tuple[int, dict]:
        try:
            actions = json.loads(body or b"{}")["actions"]
        except (ValueError, KeyError, TypeError):
            return error(400, "action_request_validation_exception",
                         "Validation Failed: 1: no action specified;")
        staged = copy.deepcopy(self.aliases)
        removed_indices: list[str] = []
        for entry in actions:
            ((op, spec),) = entry.items()
            indices = spec.get("indices") or ([spec["index"]] if "index" in spec else [])
            names = spec.get("aliases") or ([spec["alias"]] if "alias" in spec else [])
            for index in indices:
                if index not in self.indices:
                    return self.index_missing(index)
            if op == "add":
                for alias in names:
                    if alias in self.indices:
                        return error(400, "invalid_alias_name_exception",
                                     f"Invalid alias name [{alias}], an index exists with the "
                                     "same name as the alias")
                    props = {k: spec[k] for k in ("is_write_index", "filter", "routing")
                             if k in spec}
                    for index in indices:
                        staged.setdefault(alias, {})[index] = props
            elif op == "remove":
                for alias in names:
                    for index in indices:
                        if index not in staged.get(alias, {}):
                            return error(404, "aliases_not_found_exception",
                                         f"aliases [{alias}] missing", **{
                                             "resource.type": "aliases", "resource.id": alias})
                        del staged[alias][index]
                        if not staged[alias]:
                            del staged[alias]
            elif op == "remove_index":
                removed_indices += indices
            else:
                return error(400, "x_content_parse_exception",
                             f"[aliases] unknown field [{op}]")
        for alias, members in staged.items():
            writers = sorted(i for i, p in members.items() if p.get("is_write_index") is True)
            if len(writers) > 1:
                return error(400, "illegal_state_exception",
                             f"alias [{alias}] has more than one write index "
                             f"[{','.join(writers)}]")
        self.aliases = staged
        for index in removed_indices:
            self._delete_index(index)
        return 200, {"acknowledged": True}

    def _get_aliases(self, index: str | None, names: list[str] | None) -> tuple[int, dict]:
        # An index expression may itself be an alias: it stands for the indices behind it.
        members = set(self.resolve_read(index)) if index is not None else None
        out: dict[str, dict] = {}
        found_names = set()
        for alias, members in sorted(self.aliases.items()):
            if names is not None and not any(fnmatch.fnmatchcase(alias, n) for n in names):
                continue
            for member, props in members.items():
                if members is not None and member not in members:
                    continue
                out.setdefault(member, {"aliases": {}})["aliases"][alias] = dict(props)
                found_names.add(alias)
        missing = [n for n in names or [] if "*" not in n and n not in found_names]
        if missing:
            return 404, {**out, "error": f"alias [{','.join(missing)}] missing", "status": 404}
        return 200, out

    def _as_task(self, answer: tuple[int, Any], query: dict[str, str],
                 action: str) -> tuple[int, Any]:
        """The answer itself, or with wait_for_completion=false a task that has already
        finished (the fake works synchronously); GET /_tasks/<id> answers it as a completed
        task, with `error` if it failed. A request refused before it started (no `failures`
        in the answer, e.g. a missing index) is answered at once, as the real API does."""
        if query.get("wait_for_completion") != "false" or "failures" not in answer[1]:
            return answer
        task = f"fake-node:{len(self.tasks) + 1}"
        self.tasks[task] = (*answer, action)
        return 200, {"task": task}

    def _task(self, task: str) -> tuple[int, dict]:
        if task not in self.tasks:
            return error(404, "resource_not_found_exception",
                         f"task [{task}] isn't running and hasn't stored its results")
        status, answer, action = self.tasks[task]
        done = {"completed": True, "task": {"node": task.split(":")[0], "id": task,
                                            "action": action}}
        if status != 200:  # a failed task stores its error beside the partial response
            return 200, {**done, "error": {"type": "version_conflict_engine_exception",
                                           "reason": answer["failures"][0]["cause"]["reason"]},
                         "response": answer}
        return 200, {**done, "response": answer}

    # -- reindex -----------------------------------------------------------------------------

    def _reindex(self, body: bytes) -> tuple[int, dict]:
        from harness.fake_opensearch import _query

        started = time.monotonic()
        try:
            request = json.loads(body or b"{}")
            source, dest = request["source"], request["dest"]
            src_name, dest_name = source["index"], dest["index"]
        except (ValueError, KeyError, TypeError):
            return error(400, "action_request_validation_exception",
                         "Validation Failed: 1: use _reindex with source.index and dest.index;")
        op_type = dest.get("op_type", "index")
        proceed = request.get("conflicts", "abort") == "proceed"
        try:
            matches = _query(source.get("query", {"match_all": {}}))
        except (KeyError, ValueError) as exc:
            return error(400, "parsing_exception", f"fake cannot parse the query: {exc}")
        src_indices = self.resolve_read(src_name)
        target = self.resolve_write(dest_name)
        if target is None:
            self.create_index(dest_name)
            target = dest_name
        if target in src_indices:
            return error(400, "action_request_validation_exception",
                         f"Validation Failed: 1: reindex cannot write into an index its reading "
                         f"from [{target}];")
        result = {"total": 0, "created": 0, "updated": 0, "deleted": 0, "batches": 1,
                  "version_conflicts": 0, "noops": 0, "failures": []}
        docs = self.indices[target]
        for index in src_indices:
            for doc_id, doc in sorted(self.indices[index].items()):
                if not matches(doc["source"]):
                    continue
                result["total"] += 1
                current = docs.get(doc_id)
                if current is not None and op_type == "create":
                    result["version_conflicts"] += 1
                    if not proceed:
                        result["failures"].append({
                            "index": target, "id": doc_id, "status": 409, "cause": {
                                "type": "version_conflict_engine_exception",
                                "reason": f"[{doc_id}]: version conflict, document already "
                                          f"exists (current version [{current['version']}])",
                                "index": target}})
                        break
                    continue
                self.seq_no += 1  # type: ignore[attr-defined]
                docs[doc_id] = {"version": 1 if current is None else current["version"] + 1,
                                "seq_no": self.seq_no,  # type: ignore[attr-defined]
                                "source": copy.deepcopy(doc["source"]),
                                "written_at": time.monotonic()}
                result["created" if current is None else "updated"] += 1
            if result["failures"]:
                break
        answer = {"took": int((time.monotonic() - started) * 1000), "timed_out": False,
                  **result, "retries": {"bulk": 0, "search": 0}, "throttled_millis": 0,
                  "requests_per_second": -1.0, "throttled_until_millis": 0}
        return (409 if result["failures"] else 200), answer

    # -- delete by query ---------------------------------------------------------------------

    def _delete_by_query(self, names: str, body: bytes) -> tuple[int, dict]:
        from harness.fake_opensearch import _query

        started = time.monotonic()
        try:
            request = json.loads(body or b"{}")
        except ValueError as exc:
            return error(400, "parsing_exception", f"fake cannot parse the body: {exc}")
        if not isinstance(request, dict) or "query" not in request:
            return error(400, "action_request_validation_exception",
                         "Validation Failed: 1: query is missing;")
        try:
            matches = _query(request["query"])
        except (KeyError, ValueError, TypeError) as exc:
            return error(400, "parsing_exception", f"fake cannot parse the query: {exc}")
        indices: list[str] = []
        for name in names.split(","):
            indices += [i for i in self.resolve_read(name) if i not in indices]
        result = {"total": 0, "deleted": 0, "batches": 1, "version_conflicts": 0, "noops": 0,
                  "failures": []}
        for index in indices:
            docs = self.indices[index]
            for doc_id in sorted(d for d, doc in docs.items() if matches(doc["source"])):
                del docs[doc_id]
                result["total"] += 1
                result["deleted"] += 1
        return 200, {"took": int((time.monotonic() - started) * 1000), "timed_out": False,
                     **result, "retries": {"bulk": 0, "search": 0}, "throttled_millis": 0,
                     "requests_per_second": -1.0, "throttled_until_millis": 0}
