"""The query a search page sends to the read alias; `python -m ops search` sends the same.

One `bool` query:
  - `should` (at least one): the words against the file name (Kuromoji words, name parts,
    n-grams for pieces of names), the content (Kuromoji for precision, CJK bigrams for words
    inside compounds such as キャプチャ in キャプチャツール, standard for Latin text) and the
    title. Boosts rank a hit in the name above one in the body, and precise analyzers above the
    recall sub-fields (a document that matches both adds up);
  - `filter`: the folder (every file below it, via the path_hierarchy sub-field), the
    extension, and never a deleted document (tombstones of the delete handling);
  - highlights of the name and the content.
docs/search.md shows it as JSON for the team that builds the search page.
"""

from __future__ import annotations

from typing import Any

# field^boost, best first. n-grams and bigrams only add recall: lower boosts.
NAME_FIELDS = ["name^4", "name.words^3", "name.ngram^1"]
CONTENT_FIELDS = ["title^3", "title.bigram^1", "content^2", "content.bigram^0.5",
                  "content.latin^1"]
SOURCE_FIELDS = ["key", "name", "folder", "extension", "size", "last_modified", "title",
                 "content_type", "extraction", "content_sha256"]


def search_body(words: str, *, folder: str | None = None, extension: str | None = None,
                size: int = 10) -> dict[str, Any]:
    if not words.strip():
        raise ValueError("search words must not be empty")
    filters: list[dict[str, Any]] = []
    if folder:
        filters.append({"term": {"folder.tree": folder.strip("/")}})
    if extension:
        # The worker stores extensions with their dot, lowercased (".pdf").
        filters.append({"term": {"extension": "." + extension.lower().lstrip(".")}})
    return {
        "size": size,
        "_source": SOURCE_FIELDS,
        "query": {"bool": {
            "should": [
                {"multi_match": {"query": words, "fields": NAME_FIELDS,
                                 "type": "most_fields", "operator": "and"}},
                {"multi_match": {"query": words, "fields": CONTENT_FIELDS,
                                 "type": "most_fields", "operator": "and"}},
            ],
            "minimum_should_match": 1,
            "filter": filters,
            "must_not": [{"term": {"deleted": True}}],
        }},
        "highlight": {
            "fields": {"name": {}, "name.words": {}, "content": {}, "content.bigram": {}},
            "pre_tags": ["["], "post_tags": ["]"],
            "fragment_size": 120, "number_of_fragments": 2,
        },
    }
