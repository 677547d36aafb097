"""harness/fake_opensearch.py answers like OpenSearch for what the worker uses."""
from __future__ import annotations

import json


def test_fake_answers_external_version_conflicts_like_opensearch(fake_os):
    def bulk(version, vtype="external"):
        line = json.dumps({"index": {"_index": "i", "_id": "1", "version": version,
                                     "version_type": vtype}})
        _, body = fake_os.dispatch("POST", "/_bulk", {"Content-Type": "application/x-ndjson"},
                                   f"{line}\n{{}}\n".encode())
        return body["errors"], body["items"][0]["index"]["status"]

    assert bulk(5) == (False, 201)
    assert bulk(5) == (True, 409)
    assert bulk(5, "external_gte") == (False, 200)
    assert bulk(4, "external_gte") == (True, 409)
    status, body = fake_os.dispatch("GET", "/i/_doc/1", {}, b"")
    assert status == 200 and body["_version"] == 5
    assert fake_os.dispatch("GET", "/i/_doc/2", {}, b"")[0] == 404
    assert fake_os.dispatch("POST", "/_bulk", {"Content-Type": "application/json"},
                            b'{"index": {}}')[0] == 400  # no trailing newline
