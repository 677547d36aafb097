"""The file index's definition: one versioned mapping (file_index.json), its index template,
versioned indices and aliases.

Names, for a configured base name `file-index`:
  file-index-v1, file-index-v2, ...   the versioned indices (the template matches file-index-v*)
  file-index                          the read alias (search pages, `ops search`, reconcile)
  file-index-write                    the write alias (the workers; exactly one index)

Imported by the CDK app (deploy-time bootstrap requests) and by ops (status, migrate,
rollback). The worker does not import it: it only needs the write alias's name.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

DEFINITION_FILE = Path(__file__).resolve().parent / "file_index.json"
SUPPORTED_FILE = Path(__file__).resolve().parent / "supported_analysis.json"


def definition() -> dict[str, Any]:
    """file_index.json as a dict (a fresh copy: callers may change it)."""
    return json.loads(DEFINITION_FILE.read_text(encoding="utf-8"))


def mapping_version() -> int:
    return int(definition()["version"])


def write_alias(base: str) -> str:
    return f"{base}-write"


def read_alias(base: str) -> str:
    return base


def versioned_name(base: str, number: int) -> str:
    return f"{base}-v{number}"


def version_of(base: str, index: str) -> int | None:
    """3 for `file-index-v3`; None for a name that is not one of base's versions."""
    match = re.fullmatch(re.escape(base) + r"-v([1-9][0-9]*)", index)
    return int(match.group(1)) if match else None


# The Kuromoji tokenizer that a user dictionary (config: search.user_dictionary_package_id)
# applies to; and where Amazon OpenSearch Service puts an associated TXT-DICTIONARY package.
USER_DICTIONARY_TOKENIZER = "ja_kuromoji"
USER_DICTIONARY_FILE = Path(__file__).resolve().parent / "user_dictionary.txt"


def user_dictionary_path(package_id: str) -> str:
    """`analyzers/F123456789`: the package's ReferencePath on the domain's nodes."""
    return f"analyzers/{package_id}"


def user_dictionary_problems(text: str) -> list[str]:
    """What Kuromoji would refuse in a user dictionary, one message per bad line (`line N:`).

    Lines are `surface,segmentation,readings,part-of-speech`; `#` starts a comment line. The
    segmentation's space-separated parts must join to the surface, with one reading per part,
    and a surface may appear once."""
    problems, seen = [], {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split(",")
        if len(fields) != 4 or not all(f.strip() for f in fields):
            problems.append(f"line {number}: {line!r} must have 4 fields: "
                            "surface,segmentation,readings,part-of-speech")
            continue
        surface, segmentation, readings, _ = (f.strip() for f in fields)
        parts, sounds = segmentation.split(), readings.split()
        if "".join(parts) != surface:
            problems.append(f"line {number}: the segmentation {segmentation!r} does not join "
                            f"to the surface {surface!r}")
        if len(parts) != len(sounds):
            problems.append(f"line {number}: {len(parts)} segments but {len(sounds)} readings")
        if surface in seen:
            problems.append(f"line {number}: {surface!r} is already on line {seen[surface]}")
        seen.setdefault(surface, number)
    return problems


def template_body(base: str, *, shards: int, replicas: int,
                  user_dictionary_package_id: str | None = None) -> dict[str, Any]:
    """The composable index template every versioned index is created from.

    Aliases are not part of it: they are moved one index at a time, never given to every new
    index (a template alias would make a half-filled migration index visible to searches).
    With a user dictionary package, the Kuromoji tokenizer reads it from the package's path
    instead of the (empty) inline rules: Kuromoji refuses both at once.
    """
    spec = definition()
    settings = copy.deepcopy(spec["settings"])
    if user_dictionary_package_id is not None:
        tokenizer = settings["analysis"]["tokenizer"][USER_DICTIONARY_TOKENIZER]
        tokenizer.pop("user_dictionary_rules", None)
        tokenizer["user_dictionary"] = user_dictionary_path(user_dictionary_package_id)
    settings.setdefault("index", {}).update(
        {"number_of_shards": shards, "number_of_replicas": replicas})
    mappings = copy.deepcopy(spec["mappings"])
    mappings["_meta"] = {"mapping_version": spec["version"]}
    return {
        "index_patterns": [f"{base}-v*"],
        "priority": 100,
        "template": {"settings": settings, "mappings": mappings},
        "_meta": {"description": spec["description"], "mapping_version": spec["version"]},
    }


def first_index_body(base: str) -> dict[str, Any]:
    """The body that creates the first versioned index with both aliases, atomically."""
    return {"aliases": {read_alias(base): {},
                        write_alias(base): {"is_write_index": True}}}


def bootstrap_requests(base: str, *, shards: int, replicas: int,
                       user_dictionary_package_id: str | None = None) -> list[dict[str, Any]]:
    """What a deploy sends (in order; each idempotent):

    1. PUT the index template (a changed mapping reaches only indices created after it, which is
       what `ops index migrate` does);
    2. create the first versioned index with both aliases, unless the read alias already
       exists: after a migration to v2 a redeploy must not create v1 again, nor move aliases.
    """
    first = versioned_name(base, mapping_version())
    return [
        {"method": "PUT", "path": f"/_index_template/{base}",
         "body": template_body(base, shards=shards, replicas=replicas,
                               user_dictionary_package_id=user_dictionary_package_id)},
        {"method": "PUT", "path": f"/{first}", "body": first_index_body(base),
         "unless_exists": f"/_alias/{read_alias(base)}"},
    ]


def analysis_components(spec: dict[str, Any] | None = None) -> set[tuple[str, str]]:
    """Every (kind, type) the definition uses: custom components by their `type`, and built-in
    ones it names directly (e.g. a filter `lowercase` inside an analyzer)."""
    spec = spec or definition()
    analysis = spec["settings"]["analysis"]
    used: set[tuple[str, str]] = set()
    custom = {kind: analysis.get(kind, {}) for kind in
              ("char_filter", "tokenizer", "filter", "analyzer", "normalizer")}
    for kind in ("char_filter", "tokenizer", "filter"):
        for component in custom[kind].values():
            used.add((kind, component["type"]))
    for kind in ("analyzer", "normalizer"):
        for component in custom[kind].values():
            if component.get("type", "custom") != "custom":
                used.add(("analyzer", component["type"]))
                continue
            for ref_kind, refs in (("char_filter", component.get("char_filter", [])),
                                   ("tokenizer", [component["tokenizer"]]
                                    if "tokenizer" in component else []),
                                   ("filter", component.get("filter", []))):
                for ref in refs:
                    if ref not in custom[ref_kind]:
                        used.add((ref_kind, ref))
    for field in _fields(spec["mappings"]["properties"]):
        for key in ("analyzer", "search_analyzer"):
            name = field.get(key)
            if name and name not in custom["analyzer"]:
                used.add(("analyzer", name))
    return used


def _fields(properties: dict[str, Any]):
    for field in properties.values():
        yield field
        yield from _fields(field.get("fields", {}))
        yield from _fields(field.get("properties", {}))


def supported_components(engine_version: str) -> dict[tuple[str, str], str]:
    """(kind, type) -> the plugin or module that provides it on Amazon OpenSearch Service for
    that engine version (supported_analysis.json, with its sources)."""
    table = json.loads(SUPPORTED_FILE.read_text(encoding="utf-8"))
    found: dict[tuple[str, str], str] = {}
    for provider in table["providers"]:
        if _version_tuple(engine_version) < _version_tuple(provider["min_engine_version"]):
            continue
        for kind, names in provider["components"].items():
            for name in names:
                found[(kind, name)] = provider["name"]
    return found


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def apply_requests(send: Any, requests: list[dict[str, Any]]) -> list[str]:
    """Send requests in order with send(method, path, body) -> (status, payload); skip one whose
    `unless_exists` path answers 200. Returns what was done, one line per request; raises
    RuntimeError naming the request on any other answer than 2xx.

    The deploy-time handler (pipeline_constructs/search_security_handler) implements the same
    rule in its own file, because a Lambda asset cannot import this package.
    """
    done = []
    for request in requests:
        probe = request.get("unless_exists")
        if probe:
            status, _ = send("GET", probe, None)
            if status == 200:
                done.append(f"skipped {request['method']} {request['path']} ({probe} exists)")
                continue
        status, payload = send(request["method"], request["path"], request.get("body"))
        if not 200 <= status < 300:
            raise RuntimeError(f"{request['method']} {request['path']} answered {status}: "
                               f"{json.dumps(payload)[:300]}")
        done.append(f"{request['method']} {request['path']}")
    return done


def base_of_write_alias(alias: str) -> str:
    """`file-index` for `file-index-write` (what a worker is configured with)."""
    if not alias.endswith("-write"):
        raise ValueError(f"{alias!r} is not a write alias (<base>-write)")
    return alias[: -len("-write")]
