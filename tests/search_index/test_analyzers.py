"""The analyzers do what the mapping says they are for, checked with a Python simulation
(tests/search_index/analysis.py says exactly what it simulates and what it cannot: OpenSearch,
and so Kuromoji itself, cannot run here)."""

from __future__ import annotations

from tests.search_index import analysis


def matches(analyzer, query: str, text: str) -> bool:
    """A match query with operator `and`: every query token is among the text's tokens."""
    tokens = set(analyzer(text))
    return all(t in tokens for t in analyzer(query))


def test_name_words_split_on_separators_and_camel_case():
    tokens = analysis.name_words("MonthlyReport_2024-03.final.xlsx")
    for part in ("monthly", "report", "2024", "03", "final", "xlsx", "monthlyreport"):
        assert part in tokens
    assert matches(analysis.name_words, "invoice", "Invoice-ACME_2024.pdf")
    assert not matches(analysis.name_words, "voice", "Invoice-ACME_2024.pdf")


def test_name_ngrams_find_pieces_of_names_in_any_script():
    assert matches(analysis.ngrams, "議事録", "2024年度第3回議事録.docx")
    assert matches(analysis.ngrams, "voice", "Invoice-ACME_2024.pdf")
    assert not matches(analysis.ngrams, "議事録", "2024年度第3回会議メモ.docx")


def test_normalization_folds_full_width_half_width_kana_and_case():
    assert analysis.nfkc_cf("ＩＮＶＯＩＣＥ") == "invoice"
    assert analysis.nfkc_cf("ｷｬﾌﾟﾁｬ") == "キャプチャ"
    assert matches(analysis.cjk_bigrams, "ｷｬﾌﾟﾁｬ", "キャプチャツールの使い方")
    assert matches(analysis.name_words, "ＩＮＶＯＩＣＥ", "invoice_2024.pdf")


def test_kuromoji_alone_misses_a_word_inside_a_compound_and_bigrams_recover_it():
    text = "キャプチャツールで画面を保存する"
    # The stand-in for Kuromoji keeps the compound as one token (the well-known complaint) ...
    assert "キャプチャツール" in analysis.ja_text(text)
    assert not matches(analysis.ja_text, "キャプチャ", text)
    # ... the bigram sub-field finds it; the query searches both (search_index/query.py).
    assert matches(analysis.cjk_bigrams, "キャプチャ", text)


def test_kuromoji_gives_precision_where_bigrams_over_match():
    # 京都 (Kyoto) is two characters of 東京都 (Tokyo Metropolis): bigrams match, words do not.
    text = "東京都の会議室"
    assert matches(analysis.cjk_bigrams, "京都", text)
    assert not matches(analysis.ja_text, "京都", text)
    assert matches(analysis.ja_text, "会議室", text)


def test_korean_and_latin_content():
    assert matches(analysis.cjk_bigrams, "회의록", "주간회의록 2024")
    assert matches(analysis.standard, "quarterly budget", "The Quarterly Budget for 2024")


def test_folder_tree_indexes_every_ancestor():
    assert analysis.folder_tree("raw-files/経理/2024") == [
        "raw-files", "raw-files/経理", "raw-files/経理/2024"]
    # The search analyzer is `keyword`: a folder filter is one exact ancestor.
    assert "raw-files/経理" in analysis.folder_tree("raw-files/経理/2024/請求書")
    assert "raw-files/経" not in analysis.folder_tree("raw-files/経理/2024")


def test_every_custom_analyzer_of_the_mapping_is_simulated():
    from search_index import definition

    custom = set(definition()["settings"]["analysis"]["analyzer"])
    assert custom <= set(analysis.ANALYZERS)
