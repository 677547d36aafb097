"""The Kuromoji user dictionary: a TXT-DICTIONARY package the template refers to when config
names one (docs/search.md, "User dictionary"); the repository's file, empty by default."""

from __future__ import annotations

import json

import pytest

import search_index
from config import ConfigError, EnvironmentConfig, SearchConfig
from environments import ENVIRONMENTS
from stacks.fleet.search_security import security_requests


def kuromoji(body: dict) -> dict:
    return body["template"]["settings"]["analysis"]["tokenizer"]["ja_kuromoji"]


def test_without_a_package_the_tokenizer_keeps_the_empty_inline_rules():
    tokenizer = kuromoji(search_index.template_body("file-index", shards=1, replicas=0))
    assert tokenizer["user_dictionary_rules"] == [] and "user_dictionary" not in tokenizer


def test_with_a_package_the_tokenizer_reads_its_path_and_no_inline_rules():
    """Kuromoji refuses user_dictionary together with user_dictionary_rules."""
    body = search_index.template_body("file-index", shards=1, replicas=0,
                                      user_dictionary_package_id="F123456789")
    tokenizer = kuromoji(body)
    assert tokenizer["user_dictionary"] == "analyzers/F123456789"
    assert "user_dictionary_rules" not in tokenizer
    assert tokenizer["type"] == "kuromoji_tokenizer" and tokenizer["mode"] == "search"
    # The analyzers that use the tokenizer are unchanged: the dictionary reaches all of them.
    assert body["template"]["settings"]["analysis"]["analyzer"]["ja_text"]["tokenizer"] == "ja_kuromoji"
    # The repository's definition itself is untouched (template_body works on a copy).
    repository = search_index.definition()["settings"]["analysis"]["tokenizer"]["ja_kuromoji"]
    assert "user_dictionary" not in repository


def test_the_deploy_time_requests_carry_the_package_path():
    for plugin in (True, False):
        requests = security_requests(index_name="file-index", worker_role_arn="arn:role",
                                     security_plugin=plugin,
                                     user_dictionary_package_id="F42")
        (template,) = [r for r in requests if r["path"] == "/_index_template/file-index"]
        assert kuromoji(template["body"])["user_dictionary"] == "analyzers/F42"


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_every_environment_synthesizes_the_template_its_config_names(synthesized, env):
    """The deploy's template request (Custom::OpenSearchSecurity) follows config: no package
    configured today (the dictionary is empty), so the inline rules and no path."""
    resources = synthesized.templates[env]["Fleet"]["Resources"]
    (resource,) = [r for r in resources.values() if r["Type"] == "Custom::OpenSearchSecurity"]
    raw = resource["Properties"]["Requests"]
    text = raw if isinstance(raw, str) else "".join(
        p if isinstance(p, str) else 'TOKEN' for p in raw["Fn::Join"][1])
    (template,) = [r for r in json.loads(text) if r["path"] == "/_index_template/file-index"]
    package = ENVIRONMENTS[env].search.user_dictionary_package_id
    tokenizer = kuromoji(template["body"])
    if package is None:
        assert tokenizer["user_dictionary_rules"] == [] and "user_dictionary" not in tokenizer
    else:
        assert tokenizer["user_dictionary"] == f"analyzers/{package}"


@pytest.mark.parametrize("value", ["my-dictionary", "analyzers/F1", "arn:aws:es:x", "F", "f12"])
def test_a_package_id_that_is_not_one_is_refused_naming_the_field(value):
    with pytest.raises(ConfigError, match=rf"x\.search\.user_dictionary_package_id = '{value}': "
                                          r"must be a custom package id like 'F123456789'"):
        EnvironmentConfig(name="x", search=SearchConfig(fine_grained_access_control=False,
                                                        user_dictionary_package_id=value))


def test_a_package_id_is_accepted_and_an_existing_domain_refuses_one():
    EnvironmentConfig(name="x", search=SearchConfig(fine_grained_access_control=False,
                                                    user_dictionary_package_id="F1234"))
    problems = dict(SearchConfig(existing_domain_endpoint="https://d", existing_domain_arn="arn",
                                 user_dictionary_package_id="F1").problems())
    assert problems["user_dictionary_package_id"].startswith("must be None for an existing domain")


def test_the_repository_dictionary_is_valid_and_has_no_entry_yet():
    text = search_index.USER_DICTIONARY_FILE.read_text(encoding="utf-8")
    assert search_index.user_dictionary_problems(text) == []
    entries = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert entries == [], "empty by default (issue #21)"


def test_dictionary_lines_kuromoji_would_refuse_are_named_by_line():
    text = "\n".join([
        "# comment",
        "東京スカイツリー,東京 スカイツリー,トウキョウ スカイツリー,カスタム名詞",
        "東京スカイツリー,東京 スカイツリー,トウキョウ スカイツリー,カスタム名詞",
        "議事録ツール,議事 録,ギジ ロク,カスタム名詞",
        "キャプチャツール,キャプチャ ツール,キャプチャ,カスタム名詞",
        "請求書,請求書",
        "",
    ])
    assert search_index.user_dictionary_problems(text) == [
        "line 3: '東京スカイツリー' is already on line 2",
        "line 4: the segmentation '議事 録' does not join to the surface '議事録ツール'",
        "line 5: 2 segments but 1 readings",
        "line 6: '請求書,請求書' must have 4 fields: surface,segmentation,readings,part-of-speech",
    ]
