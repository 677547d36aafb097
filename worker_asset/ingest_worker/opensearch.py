"""Minimal OpenSearch REST client: urllib from the stdlib, SigV4 (service es) via botocore."""
from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, List, Optional, Sequence, Tuple

INDEX_BODY = {
    "settings": {"index": {"number_of_shards": 1}},
    "mappings": {
        "properties": {
            "bucket": {"type": "keyword"},
            "key": {"type": "keyword"},
            "etag": {"type": "keyword"},
            "version_id": {"type": "keyword"},
            "size": {"type": "long"},
            "last_modified": {"type": "date"},
            "last_modified_ms": {"type": "long"},
            "content_type": {"type": "keyword"},
            "extension": {"type": "keyword"},
            "metadata_only": {"type": "boolean"},
            "content": {"type": "text"},
            "indexed_at": {"type": "date"},
        }
    },
}


class SearchRequestError(Exception):
    """Failure of a whole request. transient=True means retry later."""

    def __init__(self, code: str, transient: bool, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.transient = transient


def is_transient_status(status: int) -> bool:
    return status == 429 or status >= 500


class OpenSearch:
    def __init__(self, endpoint: str, index: str, auth: str, region: str,
                 credentials: Any = None, timeout: float = 30.0) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.index = index
        self.auth = auth
        self.region = region
        self._credentials = credentials
        self.timeout = timeout
        self.requests = 0

    def _sign(self, method: str, url: str, body: Optional[bytes],
              headers: Dict[str, str]) -> Dict[str, str]:
        if self.auth != "sigv4":
            return headers
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        creds = self._credentials
        if creds is None:
            raise SearchRequestError("NoCredentials", True, "no AWS credentials to sign with")
        request = AWSRequest(method=method, url=url, data=body or b"", headers=headers)
        SigV4Auth(creds.get_frozen_credentials(), "es", self.region).add_auth(request)
        return dict(request.headers.items())

    def request(self, method: str, path: str, body: Optional[bytes] = None,
                content_type: str = "application/json") -> Tuple[int, Any]:
        url = self.endpoint + path
        headers = {"Content-Type": content_type} if body is not None else {}
        headers = self._sign(method, url, body, headers)
        req = urllib.request.Request(url, data=body, method=method, headers=headers)
        self.requests += 1
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            code = "Timeout" if isinstance(reason, socket.timeout) else "ConnectionError"
            raise SearchRequestError(code, True, str(reason)[:200]) from None
        try:
            payload = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            payload = None
        return status, payload

    def _check(self, status: int, payload: Any, what: str) -> Any:
        if 200 <= status < 300:
            return payload
        err = payload.get("error") if isinstance(payload, dict) else None
        etype = err.get("type") if isinstance(err, dict) else None
        raise SearchRequestError(etype or f"HTTP{status}", is_transient_status(status),
                          f"{what} answered {status}")

    def ensure_index(self) -> bool:
        """Create the index if missing. True if created, False if it already existed."""
        status, payload = self.request(
            "PUT", "/" + urllib.parse.quote(self.index), json.dumps(INDEX_BODY).encode())
        if status == 400 and isinstance(payload, dict):
            err = payload.get("error") or {}
            if isinstance(err, dict) and err.get("type") == "resource_already_exists_exception":
                return False
        self._check(status, payload, "create index")
        return True

    def mget_sources(self, ids: Sequence[str], fields: Sequence[str]) -> Dict[str, Dict]:
        """The stored _source (limited to fields) of those ids that exist."""
        query = urllib.parse.urlencode({"_source_includes": ",".join(fields)})
        path = f"/{urllib.parse.quote(self.index)}/_mget?{query}"
        status, payload = self.request("POST", path, json.dumps({"ids": list(ids)}).encode())
        payload = self._check(status, payload, "_mget")
        found = {}
        for doc in (payload or {}).get("docs", []):
            if doc.get("found"):
                found[doc["_id"]] = doc.get("_source") or {}
            elif "error" in doc:
                raise SearchRequestError("mget_item_error", True, str(doc["error"])[:200])
        return found

    def bulk_index(self, docs: List[Tuple[str, int, Dict]]) -> List[Dict]:
        """Index (id, external_version, source) triples; returns the per-item results in order.

        version_type=external_gte: an older object never overwrites a newer document (409), an
        object re-uploaded within the same second still replaces the document.
        """
        lines = []
        for doc_id, version, source in docs:
            lines.append(json.dumps({"index": {
                "_index": self.index, "_id": doc_id,
                "version": version, "version_type": "external_gte"}}))
            lines.append(json.dumps(source, ensure_ascii=False))
        body = ("\n".join(lines) + "\n").encode("utf-8")
        # Index-scoped path: the worker role may call es:ESHttp* on its index only.
        path = f"/{urllib.parse.quote(self.index)}/_bulk"
        status, payload = self.request("POST", path, body, "application/x-ndjson")
        payload = self._check(status, payload, "_bulk")
        items = (payload or {}).get("items")
        if not isinstance(items, list) or len(items) != len(docs):
            raise SearchRequestError("BadBulkResponse", True, "item count does not match the request")
        return [next(iter(item.values())) for item in items]
