"""A Python simulation of the file index's analyzers, because OpenSearch cannot run here.

What is simulated, and how faithfully:
  - `icu_normalizer` (nfkc_cf): unicodedata NFKC, then casefold. ICU's nfkc_cf is NFKC with
    case folding (Unicode NFKC_Casefold); this differs only for default-ignorable characters.
  - `pattern`, `ngram` (token_chars letter/digit), `path_hierarchy`, `lowercase`: exact rules
    for the inputs used in the tests.
  - `word_delimiter_graph` (split_on_case_change, split_on_numerics, preserve_original): the
    splitting rules Lucene documents (lower->upper, letter<->digit, non-alphanumerics); not its
    token graph (positions are not modelled).
  - `standard` + `cjk_bigram`: runs of Han/Hiragana/Katakana/Hangul become overlapping bigrams
    (a lone CJK character stays a unigram), other letters/digits split on UAX#29-like
    boundaries. Good for the CJK and ASCII text of the tests, not a full UAX#29.
  - `kuromoji_tokenizer`: NOT Kuromoji. Janome (pure Python) with the same IPADIC dictionary
    Kuromoji ships, in Janome's normal mode. Kuromoji's `search` mode additionally splits long
    kanji/katakana compounds, so on a real domain the ja_text analyzer finds *at least* what
    this simulation finds for compounds. Stop words and POS filtering are approximated by
    dropping particles and auxiliary verbs (助詞, 助動詞), as kuromoji_part_of_speech and ja_stop do
    by default; baseform is Janome's base_form.
Tests that use this say which analyzer they stand in for. Check a change on a real domain
with `_analyze` (docs/search.md) before migrating production.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from search_index import definition

_CJK = re.compile(r"[\u3040-\u309f\u30a0-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
                  r"\u30fc]+")


def nfkc_cf(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _analysis() -> dict:
    return definition()["settings"]["analysis"]


def pattern_tokens(text: str, tokenizer: str = "name_words") -> list[str]:
    pattern = _analysis()["tokenizer"][tokenizer]["pattern"]
    return [t for t in re.split(pattern, text) if t]


def _is_word_char(c: str) -> bool:
    return c.isalnum()


def word_delimiter(token: str) -> list[str]:
    """word_delimiter_graph with preserve_original, split_on_case_change and split_on_numerics."""
    parts: list[str] = []
    current = ""
    for c in token:
        if not _is_word_char(c):
            if current:
                parts.append(current)
            current = ""
            continue
        if current:
            prev = current[-1]
            case_change = prev.islower() and c.isupper()
            numeric_change = prev.isdigit() != c.isdigit()
            if case_change or numeric_change:
                parts.append(current)
                current = ""
        current += c
    if current:
        parts.append(current)
    return ([token] if len(parts) > 1 or parts != [token] else []) + parts


def name_words(text: str) -> list[str]:
    """The `name.words` analyzer: NFKC without case folding (camelCase must survive until
    word_delimiter_graph splits it), pattern tokenizer, word parts, lowercase."""
    tokens = []
    for token in pattern_tokens(_width_only(text)):
        tokens += [t.lower() for t in word_delimiter(token)]
    return tokens


def _width_only(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def ngrams(text: str, low: int = 2, high: int = 3) -> list[str]:
    """The `name.ngram` analyzer: nfkc_cf, then n-grams of each letter/digit run."""
    out = []
    for run in re.findall(r"[^\W_]+", nfkc_cf(text)):
        for n in range(low, high + 1):
            out += [run[i:i + n] for i in range(len(run) - n + 1)]
    return out


def folder_tree(path: str) -> list[str]:
    """path_hierarchy with delimiter '/': every ancestor of the folder, itself included."""
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1) if parts[i - 1] or i == 1]


def cjk_bigrams(text: str) -> list[str]:
    """The `*.bigram` analyzer: nfkc_cf, standard tokenizer, lowercase, cjk_bigram."""
    out = []
    for run in re.findall(r"[^\W_]+", nfkc_cf(text)):
        for piece in re.split(f"({_CJK.pattern})", run):
            if not piece:
                continue
            if _CJK.fullmatch(piece):
                out += [piece] if len(piece) == 1 else [piece[i:i + 2]
                                                         for i in range(len(piece) - 1)]
            else:
                out += [piece]
    return out


def standard(text: str) -> list[str]:
    return [t.lower() for t in re.findall(r"[^\W_]+", text)]


@functools.lru_cache(maxsize=1)
def _janome():
    from janome.tokenizer import Tokenizer

    return Tokenizer()


def ja_text(text: str) -> list[str]:
    """Stand-in for ja_text (see the module docstring: Janome/IPADIC, not Kuromoji)."""
    out = []
    for token in _janome().tokenize(nfkc_cf(text)):
        pos = token.part_of_speech.split(",")[0]
        if pos in ("助詞", "助動詞", "記号"):
            continue
        base = token.base_form if token.base_form != "*" else token.surface
        if base.strip():
            out.append(base.lower())
    return out


ANALYZERS = {
    "ja_text": ja_text,
    "cjk_bigram_text": cjk_bigrams,
    "name_words": name_words,
    "name_ngram": ngrams,
    "folder_tree": folder_tree,
    "standard": standard,
}
