"""The file index's definition (search_index/file_index.json): valid, pinned per version, made
only of analysis components Amazon OpenSearch Service provides, and covering every field the
worker writes."""

from __future__ import annotations

import datetime
import hashlib
import json

import pytest
from ingest_worker.plan import build_document
from ingest_worker.s3_events import ObjectRef

import search_index
from config import SearchConfig
from environments import ENVIRONMENTS

# sha256 of the canonical settings+mappings of each released version. A change to the mapping
# must come with a new version (and `ops index migrate`): an index cannot change its analyzers.
PINNED = {1: "14b422086066c9b16db46ac3f7fb6437b7824b25c90b6b259eafe4892e24a60b"}

# Fields other helpers' work writes into documents (#20 content extraction, #21 deletes):
# mapped now so that their first document finds the index ready.
EXTRACTION_FIELDS = {"content", "title", "author", "created", "modified", "page_count",
                     "language", "encoding", "extraction", "extraction_error", "truncated",
                     "content_length", "extractor_version", "content_sha256"}
DELETE_FIELDS = {"deleted", "deleted_at"}


def canonical_hash(spec: dict) -> str:
    body = {"settings": spec["settings"], "mappings": spec["mappings"]}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def test_definition_is_pinned_to_its_version():
    spec = search_index.definition()
    version = spec["version"]
    assert version in PINNED, f"version {version} is new: pin its hash in PINNED"
    assert canonical_hash(spec) == PINNED[version], (
        f"file_index.json changed but its version is still {version}: bump the version, pin "
        "the new hash, and migrate (docs/search.md)")


@pytest.mark.parametrize("env_name", sorted(ENVIRONMENTS))
def test_every_analysis_component_is_provided_by_the_configured_engine(env_name):
    engine = ENVIRONMENTS[env_name].search.engine_version
    supported = search_index.supported_components(engine)
    used = search_index.analysis_components()
    missing = sorted(c for c in used if c not in supported)
    assert not missing, f"not provided by OpenSearch {engine} on the service: {missing}"
    # The plugins the mapping is built for are really in use (the list is not trivially met).
    providers = {supported[c] for c in used}
    assert any("kuromoji" in p for p in providers) and any("ICU" in p for p in providers)


def test_an_unsupported_component_is_refused():
    spec = search_index.definition()
    spec["settings"]["analysis"]["tokenizer"]["ja_kuromoji"]["type"] = "sudachi_tokenizer"
    supported = search_index.supported_components("2.19")
    assert ("tokenizer", "sudachi_tokenizer") in search_index.analysis_components(spec)
    assert ("tokenizer", "sudachi_tokenizer") not in supported


def test_every_analyzer_a_field_names_is_defined_or_built_in():
    spec = search_index.definition()
    analysis = spec["settings"]["analysis"]
    supported = search_index.supported_components("2.19")
    for field in search_index._fields(spec["mappings"]["properties"]):
        for key in ("analyzer", "search_analyzer"):
            name = field.get(key)
            if name:
                assert name in analysis["analyzer"] or ("analyzer", name) in supported, name
        if "normalizer" in field:
            assert field["normalizer"] in analysis["normalizer"]


def mapped_fields(properties: dict, prefix: str = "") -> dict[str, dict]:
    out = {}
    for name, field in properties.items():
        out[prefix + name] = field
        out.update(mapped_fields(field.get("properties", {}), prefix + name + "."))
    return out


def test_every_field_the_worker_writes_is_mapped():
    ref = ObjectRef("bucket", "raw-files/経理/2024/請求書_2024-03.pdf", "ObjectCreated:Put",
                    sequencer="0A1B")
    doc = build_document(None, ref, {"ETag": '"e"', "ContentLength": 3, "ContentType": "x",
                                     "LastModified": datetime.datetime(2024, 3, 1,
                                                                       tzinfo=datetime.UTC)},
                         "本文").source
    fields = mapped_fields(search_index.definition()["mappings"]["properties"])
    written = set(doc) | {"indexed_at"} | EXTRACTION_FIELDS | DELETE_FIELDS
    assert sorted(written - set(fields)) == []
    assert doc["name"] == "請求書_2024-03.pdf" and doc["folder"] == "raw-files/経理/2024"


def test_the_mapping_is_made_for_file_search():
    fields = mapped_fields(search_index.definition()["mappings"]["properties"])
    assert fields["name"]["analyzer"] == "ja_text"
    assert set(fields["name"]["fields"]) == {"words", "ngram", "keyword"}
    assert fields["folder"]["fields"]["tree"]["analyzer"] == "folder_tree"
    assert fields["content"]["analyzer"] == "ja_text"
    assert {f["analyzer"] for f in fields["content"]["fields"].values()} == {
        "cjk_bigram_text", "standard"}
    for keyword in ("extension", "content_type", "content_sha256", "extraction",
                    "extractor_version", "key"):
        assert fields[keyword]["type"] == "keyword", keyword
    for date in ("last_modified", "created", "modified", "indexed_at", "deleted_at"):
        assert fields[date]["type"] == "date", date
    analysis = search_index.definition()["settings"]["analysis"]
    assert analysis["tokenizer"]["ja_kuromoji"]["user_dictionary_rules"] == []
    assert analysis["char_filter"]["nfkc_cf"] == {"type": "icu_normalizer", "name": "nfkc_cf"}


@pytest.mark.parametrize("env_name", sorted(ENVIRONMENTS))
def test_template_takes_shards_and_replicas_from_the_environment(env_name):
    search = ENVIRONMENTS[env_name].search
    body = search_index.template_body(search.index_name, shards=search.index_shards,
                                      replicas=search.index_replicas)
    assert body["index_patterns"] == [f"{search.index_name}-v*"]
    settings = body["template"]["settings"]["index"]
    assert (settings["number_of_shards"], settings["number_of_replicas"]) == (
        search.index_shards, search.index_replicas)
    assert "aliases" not in body["template"]


def test_shards_and_replicas_per_environment():
    got = {name: (env.search.index_shards, env.search.index_replicas)
           for name, env in ENVIRONMENTS.items()}
    assert got == {"dev": (1, 0), "staging": (1, 1), "prod": (2, 1)}


def test_replicas_need_another_data_node():
    problems = dict(SearchConfig(data_node_count=1, index_replicas=1).problems())
    assert "index_replicas" in problems
    assert "index_shards" in dict(SearchConfig(index_shards=0).problems())


def test_bootstrap_creates_the_first_version_with_both_aliases_only_once():
    template, first = search_index.bootstrap_requests("file-index", shards=2, replicas=1)
    assert (template["method"], template["path"]) == ("PUT", "/_index_template/file-index")
    assert (first["method"], first["path"]) == ("PUT", "/file-index-v1")
    assert first["body"]["aliases"] == {"file-index": {},
                                        "file-index-write": {"is_write_index": True}}
    assert first["unless_exists"] == "/_alias/file-index"
