"""A small OpenSearch client for `reconcile`: SigV4-signed (service `es`) with botocore,
urllib for transport. The domain is VPC-only: run from a host inside the VPC."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from ops.aws import OpsError


class Search:
    def __init__(self, *, endpoint: str, index: str, region: str, credentials: Any | None,
                 timeout: float = 60.0, page_size: int = 1000) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.index = index
        self.region = region
        self.credentials = credentials
        self.timeout = timeout
        self.page_size = page_size

    def request(self, method: str, path: str, body: Any = None, *, ndjson: bool = False) -> Any:
        status, payload = self.call(method, path, body, ndjson=ndjson)
        if not 200 <= status < 300:
            raise OpsError(f"OpenSearch {method} {path} answered {status}: {explain(payload)}")
        return payload

    def call(self, method: str, path: str, body: Any = None, *,
             ndjson: bool = False) -> tuple[int, Any]:
        """(status, payload) for any HTTP answer; OpsError only when there is none."""
        url = self.endpoint + path
        data = None
        headers = {}
        if body is not None:
            data = body.encode() if ndjson else json.dumps(body).encode()
            headers["Content-Type"] = "application/x-ndjson" if ndjson else "application/json"
        if self.credentials is not None:
            signed = AWSRequest(method=method, url=url, data=data or b"", headers=headers)
            SigV4Auth(self.credentials.get_frozen_credentials(), "es", self.region).add_auth(signed)
            headers = dict(signed.headers.items())
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                return error.code, json.loads(raw or b"null")
            except ValueError:
                return error.code, raw[:300].decode(errors="replace")
        except (urllib.error.URLError, OSError) as error:
            raise OpsError(f"cannot reach OpenSearch at {self.endpoint} ({error}); the domain "
                           "is VPC-only: run this from a host inside the VPC") from None

    def documents(self, *, bucket: str, prefix: str) -> Iterator[dict]:
        """Every document of `bucket` under `prefix`, ordered by key (a keyword field, so the
        order is the UTF-8 byte order S3 lists keys in), one page in memory at a time."""
        # A removed object's tombstone (deleted: true, docs/deletes.md) is not a document of a
        # file: never reported as orphaned, never deleted here (it orders late events).
        query = {"bool": {"filter": [{"term": {"bucket": bucket}},
                                     {"prefix": {"key": prefix}}],
                          "must_not": [{"term": {"deleted": True}}]}}
        after = None
        path = f"/{urllib.parse.quote(self.index)}/_search"
        while True:
            body: dict[str, Any] = {"size": self.page_size, "query": query, "sort": [{"key": "asc"}],
                                    "_source": ["bucket", "key", "etag",
                                                "extraction", "extractor_version"]}
            if after is not None:
                body["search_after"] = after
            hits = self.request("POST", path, body)["hits"]["hits"]
            for hit in hits:
                yield {"id": hit["_id"], **hit["_source"]}
            if len(hits) < self.page_size:
                return
            after = hits[-1]["sort"]

    def delete(self, ids: list[str]) -> list[str]:
        """Bulk delete; returns the ids that failed (404 = already gone, not a failure)."""
        if not ids:
            return []
        lines = "".join(json.dumps({"delete": {"_id": i}}) + "\n" for i in ids)
        result = self.request("POST", f"/{urllib.parse.quote(self.index)}/_bulk", lines,
                              ndjson=True)
        return [item["delete"]["_id"] for item in result.get("items", [])
                if item["delete"].get("status") not in (200, 404)]


def explain(payload: Any) -> str:
    """One line from an OpenSearch error body: `type: reason`, else the body cut short."""
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict) and error.get("reason"):
            return f"{error.get('type', 'error')}: {error['reason']}"
        if isinstance(error, str):
            return error
    return " ".join(json.dumps(payload, ensure_ascii=False)[:300].split())
