"""`python -m ops index status|init|migrate|rollback` and `python -m ops search`: the file index's
versions and aliases (search_index/, docs/search.md), through the Search client.

Migration (docs/search.md, "Changing the mapping"), proved on the fake with uploads running:
  1. put the index template from the repository (what the deploy sends);
  2. create v(N+1) from it;
  3. move the WRITE alias to v(N+1) in one `_aliases` call: from now on uploads land there;
  4. wait `settle` seconds (requests sent before the move finish) and refresh vN;
  5. `_reindex` vN -> v(N+1) with op_type create and conflicts proceed: only documents v(N+1)
     does not have are copied, so nothing written during the migration is overwritten by an
     older copy (deletes are tombstones, so a deleted file is not copied back either);
  6. refresh both and compare counts (v(N+1) >= vN, else stop before reads switch);
  7. move the READ alias in one `_aliases` call; vN stays for `rollback`.
A migration stopped after step 3 (read on vN, write on v(N+1)) is resumed by running migrate
again: steps 5-7 are idempotent.
"""

from __future__ import annotations

import datetime
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import search_index
from ops.aws import OpsError
from ops.console import Console
from ops.search import Search, explain
from search_index.query import search_body

# Worker clocks and the domain's clock differ: copy back a little more than strictly needed
# (copies of unchanged documents are harmless).
CLOCK_MARGIN = datetime.timedelta(minutes=5)
POLL_SECONDS = 2.0


@dataclass
class Version:
    name: str
    number: int
    docs: int = 0
    tombstones: int = 0
    mapping_version: int | None = None
    migrated_from: str | None = None
    created_ms: int | None = None
    shards: str = "?"
    replicas: str = "?"


@dataclass
class State:
    base: str
    versions: dict[int, Version] = field(default_factory=dict)
    read: list[str] = field(default_factory=list)  # indices behind the read alias
    write: list[str] = field(default_factory=list)  # the write index(es) of the write alias
    template_version: int | None = None

    @property
    def read_alias(self) -> str:
        return search_index.read_alias(self.base)

    @property
    def write_alias(self) -> str:
        return search_index.write_alias(self.base)

    def problems(self) -> list[str]:
        found = []
        for alias, members in ((self.read_alias, self.read), (self.write_alias, self.write)):
            if not members:
                found.append(f"alias {alias} is missing")
            elif len(members) > 1:
                found.append(f"alias {alias} points to {len(members)} indices "
                             f"({', '.join(members)})")
            elif search_index.version_of(self.base, members[0]) is None:
                found.append(f"alias {alias} points to {members[0]}, not a versioned index "
                             f"({self.base}-vN)")
        return found


class Indices:
    """The versioned indices of one base name on one domain."""

    def __init__(self, search: Search, base: str, console: Console, *, shards: int = 1,
                 replicas: int = 0, settle: float = 30.0,
                 user_dictionary_package_id: str | None = None) -> None:
        self.search = search
        self.base = base
        self.console = console
        self.shards = shards
        self.replicas = replicas
        self.user_dictionary_package_id = user_dictionary_package_id
        self.settle = settle

    # -- reading -----------------------------------------------------------------------------

    def state(self) -> State:
        state = State(self.base)
        pattern = urllib.parse.quote(f"{self.base}-v*")
        for row in self.search.request("GET", f"/_cat/indices/{pattern}?format=json"):
            number = search_index.version_of(self.base, row["index"])
            if number is not None:
                state.versions[number] = Version(row["index"], number, shards=row.get("pri", "?"),
                                                 replicas=row.get("rep", "?"))
        for version in state.versions.values():
            self._describe(version)
        names = f"{state.read_alias},{state.write_alias}"
        status, payload = self.search.call("GET", f"/_alias/{urllib.parse.quote(names)}")
        if status not in (200, 404):  # 404 lists the aliases that were found, too
            raise OpsError(f"OpenSearch GET /_alias/{names} answered {status}: "
                           f"{explain(payload)}")
        for index, entry in sorted((payload or {}).items()):
            if not isinstance(entry, dict):
                continue  # "error" and "status" of a 404
            aliases = entry.get("aliases", {})
            if state.read_alias in aliases:
                state.read.append(index)
            if state.write_alias in aliases:
                props = aliases[state.write_alias]
                if props.get("is_write_index") is not False:
                    state.write.append(index)
        status, payload = self.search.call("GET", f"/_index_template/{self.base}")
        if status == 200:
            meta = payload["index_templates"][0]["index_template"].get("_meta", {})
            state.template_version = meta.get("mapping_version")
        elif status != 404:
            raise OpsError(f"OpenSearch GET /_index_template/{self.base} answered {status}: "
                           f"{explain(payload)}")
        return state

    def _describe(self, version: Version) -> None:
        name = urllib.parse.quote(version.name)
        version.docs = self.search.request("POST", f"/{name}/_count",
                                           {"query": {"match_all": {}}})["count"]
        version.tombstones = self.search.request(
            "POST", f"/{name}/_count", {"query": {"term": {"deleted": True}}})["count"]
        mappings = self.search.request("GET", f"/{name}/_mapping")[version.name]["mappings"]
        meta = mappings.get("_meta", {})
        version.mapping_version = meta.get("mapping_version")
        version.migrated_from = meta.get("migrated_from")
        settings = self.search.request("GET", f"/{name}/_settings")[version.name]
        created = settings["settings"]["index"].get("creation_date")
        version.created_ms = int(created) if created is not None else None

    def render(self, state: State) -> str:
        repo = search_index.mapping_version()
        lines = [f"{self.base} on {self.console.env}: mapping version in the repository {repo}",
                 f"  template {self.base}: "
                 + (f"mapping version {state.template_version}"
                    if state.template_version is not None else "MISSING"),
                 f"  read alias  {state.read_alias} -> {', '.join(state.read) or 'MISSING'}",
                 f"  write alias {state.write_alias} -> {', '.join(state.write) or 'MISSING'}"]
        if state.versions:
            lines.append(f"  {'index':<24} {'docs':>10} {'tombstones':>10} {'mapping':>7} "
                         f"{'shards/replicas':>15}  aliases")
        for number in sorted(state.versions):
            v = state.versions[number]
            roles = [r for r, members in (("read", state.read), ("write", state.write))
                     if v.name in members]
            lines.append(f"  {v.name:<24} {v.docs:>10} {v.tombstones:>10} "
                         f"{v.mapping_version if v.mapping_version is not None else '?':>7} "
                         f"{v.shards + '/' + v.replicas:>15}  {', '.join(roles) or '-'}")
        if not state.versions:
            lines.append(f"  no versioned index ({self.base}-v1, ...)")
        problems = state.problems()
        env = self.console.env
        for problem in problems:
            lines.append(f"FAULT: {problem}: repair with `python -m ops index init --env {env}` "
                         "(docs/runbook.md, \"index alias missing\")")
        if not problems:
            current = state.versions.get(search_index.version_of(self.base, state.read[0]) or 0)
            if state.read != state.write:
                lines.append(f"a migration stopped half-way (reads on {state.read[0]}, writes on "
                             f"{state.write[0]}): run `python -m ops index migrate --env {env}` "
                             "to finish it, or `rollback`")
            elif current is not None and current.mapping_version != repo:
                lines.append(f"the live index has mapping version {current.mapping_version}, the "
                             f"repository {repo}: run `python -m ops index migrate --env {env}`")
        return "\n".join(lines)

    # -- changing ----------------------------------------------------------------------------

    def init(self) -> int:
        """What the deploy does, plus repairing a missing alias; only what is missing (an
        existing template stays: the deploy or `migrate` owns its content)."""
        state = self.state()
        actions: list[dict[str, Any]] = []
        create: str | None = None
        read, write = state.read_alias, state.write_alias
        if state.read and state.write:
            target = None
        elif state.read or state.write:
            target = (state.write or state.read)[0]  # the one that still points somewhere
        elif state.versions:
            target = state.versions[max(state.versions)].name
        else:
            target = search_index.versioned_name(self.base, search_index.mapping_version())
            create = target
        if target and not create:
            if not state.read:
                actions.append({"add": {"index": target, "alias": read}})
            if not state.write:
                actions.append({"add": {"index": target, "alias": write,
                                        "is_write_index": True}})
        plan = ([f"put the index template {self.base} from the repository (as the deploy "
                 "does)"] if state.template_version is None else [])
        if create:
            plan.append(f"create {create} with the read alias {read} and the write alias {write}")
        for action in actions:
            plan.append(f"add the alias {action['add']['alias']} to {action['add']['index']}")
        if not create and not actions and not plan:
            self.console.say("the template and both aliases exist: nothing to do")
            self.console.say(self.render(state))
            return 0
        if not create and not actions:
            plan.append("both aliases exist: nothing else to do")
        self.console.confirm(f"index init in {self.console.env}:\n  " + "\n  ".join(plan))
        if state.template_version is None:
            self.search.request("PUT", f"/_index_template/{self.base}", self._template())
        if create:
            self.search.request("PUT", f"/{urllib.parse.quote(create)}",
                                search_index.first_index_body(self.base))
        if actions:
            self.search.request("POST", "/_aliases", {"actions": actions})
        self.console.say("done.\n" + self.render(self.state()))
        if actions:
            self.console.say("documents the workers could not write meanwhile are in the DLQ "
                             "or the queue: `python -m ops diagnose`, then `ops reconcile`")
        return 0

    def migrate(self) -> int:
        state = self.state()
        self._require_aliases(state)
        old, new = state.read[0], state.write[0]
        resuming = old != new
        number = search_index.version_of(self.base, old)
        assert number is not None
        if resuming:
            if (search_index.version_of(self.base, new) or 0) <= number:
                raise OpsError(f"reads are on {old} but writes on the older {new}: not a "
                               f"migration this command started; see `python -m ops index "
                               f"status` and docs/search.md")
        else:
            new = search_index.versioned_name(self.base, max(state.versions) + 1)
        current = state.versions[number]
        steps = ([f"put the index template {self.base} (mapping version "
                  f"{search_index.mapping_version()}, {self.shards} shards, {self.replicas} "
                  "replicas)", f"create {new} from it",
                  f"move the write alias {state.write_alias}: {old} -> {new} (uploads land "
                  f"in {new} from then on)"] if not resuming else
                 [f"resume: the write alias is already on {new}"])
        steps += [f"wait {self.settle:g} s for writes sent before the move, refresh {old}",
                  f"copy {old} -> {new} ({current.docs} documents; only those {new} does not "
                  "have: nothing written meanwhile is overwritten)",
                  f"compare counts, then move the read alias {state.read_alias}: {old} -> {new} "
                  "in one atomic call",
                  f"keep {old} for `python -m ops index rollback --env {self.console.env}`"]
        self.console.confirm(f"index migrate in {self.console.env}: {old} -> {new}\n  "
                             + "\n  ".join(f"{i}. {s}" for i, s in enumerate(steps, 1)))
        if not resuming:
            self.search.request("PUT", f"/_index_template/{self.base}", self._template())
            self.search.request("PUT", f"/{urllib.parse.quote(new)}", {"mappings": {"_meta": {
                "mapping_version": search_index.mapping_version(), "migrated_from": old}}})
            self.search.request("POST", "/_aliases", {"actions": [
                {"remove": {"index": old, "alias": state.write_alias}},
                {"add": {"index": new, "alias": state.write_alias, "is_write_index": True}}]})
            self.console.say(f"write alias moved: uploads now land in {new}")
        time.sleep(self.settle)
        self._refresh(old)
        result = self._reindex({"source": {"index": old},
                                "dest": {"index": new, "op_type": "create"},
                                "conflicts": "proceed"})
        self.console.say(f"copied {result.get('created', 0)} documents; "
                         f"{result.get('version_conflicts', 0)} were already in {new} (newer)")
        self._refresh(old, new)
        old_count, new_count = self._count(old), self._count(new)
        if new_count < old_count:
            self.console.say(f"STOPPED: {new} has {new_count} documents, {old} {old_count}; "
                             f"reads stay on {old}. Run migrate again to copy the rest, or "
                             f"`python -m ops index rollback --env {self.console.env}`")
            return 1
        self.search.request("POST", "/_aliases", {"actions": [
            {"remove": {"index": old, "alias": state.read_alias}},
            {"add": {"index": new, "alias": state.read_alias}}]})
        self.console.say(f"read alias moved: searches use {new} ({new_count} documents; {old} "
                         f"has {old_count}). {old} is kept for rollback; delete it "
                         f"(`DELETE /{old}`) when sure.")
        return 0

    def rollback(self) -> int:
        state = self.state()
        self._require_aliases(state)
        current = state.write[0]
        version = state.versions[search_index.version_of(self.base, current) or 0]
        target = version.migrated_from
        if target is None or search_index.version_of(self.base, target) not in state.versions:
            lower = [n for n in state.versions if n < version.number]
            if not lower:
                raise OpsError(f"nothing to roll back to: {current} is the oldest index of "
                               f"{self.base}")
            target = state.versions[max(lower)].name
        created = datetime.datetime.fromtimestamp((version.created_ms or 0) / 1000,
                                                  datetime.UTC)
        steps = [f"copy what the workers wrote to {current} since it was created "
                 f"({created:%Y-%m-%d %H:%M:%S} UTC) into {target}",
                 f"move the read alias {state.read_alias} and the write alias "
                 f"{state.write_alias} to {target} in one atomic call",
                 f"wait {self.settle:g} s, then copy what was written to {current} during the "
                 f"switch and {target} does not have",
                 f"keep {current} (delete it when sure)"]
        self.console.confirm(f"index rollback in {self.console.env}: {current} -> {target}\n  "
                             + "\n  ".join(f"{i}. {s}" for i, s in enumerate(steps, 1)))
        # While the write alias is still on `current`, `target` is written by nobody: copying
        # over it (op_type index) cannot replace anything newer.
        self._refresh(current)
        first = self._reindex({"source": {"index": current,
                                          "query": self._written_since(created)},
                               "dest": {"index": target}, "conflicts": "proceed"})
        switched = datetime.datetime.now(datetime.UTC)
        actions: list[dict[str, Any]] = [
            {"remove": {"index": i, "alias": state.read_alias}} for i in state.read]
        actions += [{"remove": {"index": current, "alias": state.write_alias}},
                    {"add": {"index": target, "alias": state.read_alias}},
                    {"add": {"index": target, "alias": state.write_alias,
                             "is_write_index": True}}]
        self.search.request("POST", "/_aliases", {"actions": actions})
        self.console.say(f"aliases moved: reads and uploads use {target}")
        # Now the workers write to `target`: copy only what it lacks (op_type create), so a
        # newer write is never replaced by the older copy.
        time.sleep(self.settle)
        self._refresh(current)
        second = self._reindex({"source": {"index": current,
                                           "query": self._written_since(first["started"])},
                                "dest": {"index": target, "op_type": "create"},
                                "conflicts": "proceed"})
        self._refresh(target)
        self.console.say(
            f"copied {first.get('created', 0) + first.get('updated', 0)} documents back, then "
            f"{second.get('created', 0)} written during the switch. {current} is kept.\n"
            f"A file changed twice within seconds of {switched:%H:%M:%S} UTC may keep its "
            f"older copy: run `python -m ops reconcile --env {self.console.env}` to find and "
            "repair stale documents.")
        return 0

    def purge_tombstones(self, *, older_than_days: int, late_event_days: int) -> int:
        """Delete the tombstones (docs/deletes.md) of files removed more than `older_than_days`
        ago, from every versioned index (one kept for rollback too, so that a rollback does not
        bring back what was purged here). `late_event_days` is how late an event can still
        arrive (queue + DLQ retention): a younger tombstone may still have to stop a late
        create event, so a shorter age is refused."""
        if older_than_days <= late_event_days:
            raise OpsError(f"--older-than {older_than_days} days is too short: an S3 event can "
                           f"still arrive {late_event_days} days after it was sent (queue + DLQ "
                           "retention), and a late create event needs the removal's tombstone "
                           "(docs/deletes.md); nothing was deleted")
        state = self.state()
        cutoff = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=older_than_days)
        # last_modified_ms of a tombstone is the removal's time (its event's eventTime).
        query = {"bool": {"filter": [
            {"term": {"deleted": True}},
            {"range": {"last_modified_ms": {"lt": int(cutoff.timestamp() * 1000)}}}]}}
        found = {v.name: self.search.request("POST", f"/{urllib.parse.quote(v.name)}/_count",
                                             {"query": query})["count"]
                 for _, v in sorted(state.versions.items())}
        total = sum(found.values())
        where = ", ".join(f"{name} {count}" for name, count in found.items()) or "no index"
        if not total:
            self.console.say(f"no tombstone of a file removed before {cutoff:%Y-%m-%d %H:%M} UTC "
                             f"({where}): nothing to do")
            return 0
        self.console.confirm(
            f"index purge-tombstones in {self.console.env}: delete {total} tombstones of files "
            f"removed before {cutoff:%Y-%m-%d %H:%M} UTC ({older_than_days} days ago): {where}")
        deleted = conflicts = 0
        for name, count in found.items():
            if not count:
                continue
            # conflicts=proceed: a tombstone replaced by a new upload after the search has a
            # newer version; the delete skips it (a conflict) instead of removing the upload.
            result = self._run_task(f"/{urllib.parse.quote(name)}/_delete_by_query"
                                    "?conflicts=proceed", {"query": query},
                                    f"delete-by-query on {name}")
            deleted += result.get("deleted", 0)
            conflicts += result.get("version_conflicts", 0)
        self.console.say(f"deleted {deleted} tombstones"
                         + (f"; {conflicts} changed meanwhile (a new upload) and were kept"
                            if conflicts else ""))
        return 0

    # -- helpers -----------------------------------------------------------------------------

    def _template(self) -> dict[str, Any]:
        return search_index.template_body(
            self.base, shards=self.shards, replicas=self.replicas,
            user_dictionary_package_id=self.user_dictionary_package_id)

    def _require_aliases(self, state: State) -> None:
        problems = state.problems()
        if problems:
            raise OpsError(f"{problems[0]}; nothing was changed. See `python -m ops index status "
                           f"--env {self.console.env}`; repair with `ops index init` "
                           "(docs/runbook.md, \"index alias missing\")")

    @staticmethod
    def _written_since(moment: datetime.datetime) -> dict[str, Any]:
        since = (moment - CLOCK_MARGIN).isoformat(timespec="microseconds")
        return {"range": {"indexed_at": {"gte": since}}}

    def _refresh(self, *indices: str) -> None:
        names = urllib.parse.quote(",".join(indices))
        self.search.request("POST", f"/{names}/_refresh")

    def _count(self, index: str) -> int:
        return self.search.request("POST", f"/{urllib.parse.quote(index)}/_count",
                                   {"query": {"match_all": {}}})["count"]

    def _reindex(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._run_task("/_reindex", body, f"reindex {body['source']['index']} -> "
                                                 f"{body['dest']['index']}")

    def _run_task(self, path: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        """Run a reindex or delete-by-query as a task and wait for it (a large one outlasts any
        HTTP timeout). Returns its response with `started` (when it was sent); OpsError on any
        failure."""
        started = datetime.datetime.now(datetime.UTC)
        separator = "&" if "?" in path else "?"
        task = self.search.request("POST", f"{path}{separator}wait_for_completion=false",
                                   body)["task"]
        while True:
            answer = self.search.request("GET", f"/_tasks/{urllib.parse.quote(task)}")
            if answer.get("completed"):
                break
            time.sleep(POLL_SECONDS)
        if "error" in answer:
            raise OpsError(f"{what} failed: {explain(answer)}")
        response = answer.get("response", {})
        if response.get("failures"):
            raise OpsError(f"{what} failed: "
                           f"{explain({'error': response['failures'][0].get('cause')})}")
        return {**response, "started": started}


def search(search: Search, index: str, console: Console, *, words: str, folder: str | None,
           extension: str | None, size: int) -> int:
    """The search page's query (search_index/query.py) against the read alias; best hits."""
    try:
        body = search_body(words, folder=folder, extension=extension, size=size)
    except ValueError as error:
        raise OpsError(str(error)) from None
    answer = search.request("POST", f"/{urllib.parse.quote(index)}/_search", body)
    hits = answer["hits"]["hits"]
    total = answer["hits"]["total"]
    total = total["value"] if isinstance(total, dict) else total
    where = "".join(f" {k} {v}" for k, v in (("in", folder), ("ext", extension)) if v)
    console.say(f"{len(hits)} of {total} hits for {words!r}{where} ({index}, {console.env})")
    for rank, hit in enumerate(hits, 1):
        source = hit.get("_source", {})
        score = hit.get("_score")
        console.say(f"{rank:>3}. {source.get('name') or source.get('key', hit['_id'])}"
                    f"  folder {source.get('folder', '?')}"
                    + (f"  score {score:.2f}" if score is not None else ""))
        shown = set()
        for fragment_field, fragments in hit.get("highlight", {}).items():
            base = fragment_field.split(".")[0]  # name and name.words: one line per field
            if fragments and base not in shown:
                shown.add(base)
                console.say(f"       {base}: {' '.join(fragments[0].split())}")
    return 0 if hits else 1
