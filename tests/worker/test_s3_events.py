"""events.py: parsing S3 notifications out of SQS message bodies."""
from __future__ import annotations

import json

import pytest
from ingest_worker import s3_events as events


def _record(key, name="ObjectCreated:Put"):
    return {"eventSource": "aws:s3", "eventName": name,
            "s3": {"bucket": {"name": "b"}, "object": {"key": key, "size": 3, "eTag": "e"}}}


def test_parse_decodes_keys_and_keeps_every_record():
    body = json.dumps({"Records": [_record("raw-files%2Fa+b%2B%E2%9C%93.txt"),
                                   _record("raw-files/x", "ObjectRemoved:Delete"),
                                   _record("raw-files/y", "ObjectRestore:Completed")]})
    parsed = events.parse_body(body)
    assert [r.key for r in parsed.records] == ["raw-files/a b+\u2713.txt", "raw-files/x",
                                               "raw-files/y"]
    # Removals are handled too (docs/deletes.md); other event types are ignored.
    assert [events.should_index(r, "raw-files/") for r in parsed.records] == [True, True, False]
    assert not events.should_index(parsed.records[0], "other/")
    assert events.parse_body('{"Event": "s3:TestEvent", "Bucket": "b"}').test_event


@pytest.mark.parametrize("body,reason", [
    ("nope", "malformed_json"), ("[1]", "not_s3_event"), ("{}", "not_s3_event"),
    (json.dumps({"Records": [{"eventSource": "aws:sns"}]}), "not_s3_event"),
    (json.dumps({"Records": [{"eventSource": "aws:s3", "s3": {}}]}), "not_s3_event"),
])
def test_parse_rejects_poison(body, reason):
    with pytest.raises(events.PoisonMessage) as exc:
        events.parse_body(body)
    assert exc.value.reason == reason
