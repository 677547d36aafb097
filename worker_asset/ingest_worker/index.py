"""Minimal OpenSearch REST client: urllib from the stdlib, SigV4 (service es) via botocore."""
from __future__ import annotations

import dataclasses
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, List, Optional, Sequence, Tuple

# The code the worker pauses with when its write alias is missing (an environment fault: the
# deploy creates the alias, `python -m ops index init` repairs it; docs/runbook.md).
ALIAS_MISSING = "index_alias_missing"


class SearchRequestError(Exception):
    """Failure of a whole request. transient=True: the index's fault (unreachable, overloaded,
    blocking writes), not the documents'; retry later."""

    def __init__(self, code: str, transient: bool, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.transient = transient


def is_transient_status(status: int) -> bool:
    """429/5xx: overloaded or down. 403: a write block (cluster_block_exception, e.g. disk
    flood stage or a red cluster) or the domain's access policy, both about the domain."""
    return status in (403, 429) or status >= 500


@dataclasses.dataclass(frozen=True)
class StoredDocument:
    """A document as `_mget` returned it: the fields asked for, and what a conditional write
    needs (`if_seq_no` / `if_primary_term`)."""
    source: Dict[str, Any]
    seq_no: int
    primary_term: int


@dataclasses.dataclass(frozen=True)
class DocumentWrite:
    """One `_bulk` action. `expected` is the stored document the write replaces, or None when
    the document must not exist yet: either way a concurrent writer makes this one fail with
    409 instead of writing twice."""
    doc_id: str
    source: Dict[str, Any]
    expected: Optional[StoredDocument]


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
        # A missing index or alias (deleted under the worker) is the domain's state, not the
        # documents'.
        if etype == "index_not_found_exception":
            raise SearchRequestError(ALIAS_MISSING, True, f"{what}: no index or alias "
                                                          f"{self.index} ({status})")
        raise SearchRequestError(etype or f"HTTP{status}", is_transient_status(status),
                                 f"{what} answered {status}")

    def check_write_alias(self) -> str:
        """The one index behind the write alias; SearchRequestError(ALIAS_MISSING) if there is
        no such alias (also when an index of that name exists: writing there would bypass the
        versioned indices). The path stays below the alias, where the worker's access is."""
        alias = urllib.parse.quote(self.index)
        status, payload = self.request("GET", f"/{alias}/_alias/{alias}")
        if status == 404:
            raise SearchRequestError(ALIAS_MISSING, True, f"no alias {self.index} on the domain "
                                                          "(created at deploy time)")
        payload = self._check(status, payload, "get alias")
        indices = sorted(payload or {})
        if len(indices) != 1:
            raise SearchRequestError(ALIAS_MISSING, True, f"alias {self.index} points to "
                                                          f"{len(indices)} indices, not one")
        return indices[0]

    def mget(self, ids: Sequence[str], fields: Sequence[str]) -> Dict[str, StoredDocument]:
        """The stored documents (_source limited to fields) of those ids that exist."""
        query = urllib.parse.urlencode({"_source_includes": ",".join(fields)})
        path = f"/{urllib.parse.quote(self.index)}/_mget?{query}"
        status, payload = self.request("POST", path, json.dumps({"ids": list(ids)}).encode())
        payload = self._check(status, payload, "_mget")
        found = {}
        for doc in (payload or {}).get("docs", []):
            if doc.get("found"):
                found[doc["_id"]] = StoredDocument(source=doc.get("_source") or {},
                                                   seq_no=int(doc["_seq_no"]),
                                                   primary_term=int(doc["_primary_term"]))
            elif "error" in doc:
                raise SearchRequestError("mget_item_error", True, str(doc["error"])[:200])
        return found

    def bulk_write(self, writes: Sequence[DocumentWrite]) -> List[Dict]:
        """Conditional writes; returns the per-item results in order.

        A new document is written with `create` (409 if it exists meanwhile), a stored one with
        `index` + `if_seq_no`/`if_primary_term` from the `_mget` (409 if it changed meanwhile):
        of two workers that read the same state, only one writes.
        """
        lines = []
        for w in writes:
            if w.expected is None:
                action = {"create": {"_index": self.index, "_id": w.doc_id}}
            else:
                action = {"index": {"_index": self.index, "_id": w.doc_id,
                                    "if_seq_no": w.expected.seq_no,
                                    "if_primary_term": w.expected.primary_term}}
            lines.append(json.dumps(action))
            lines.append(json.dumps(w.source, ensure_ascii=False))
        body = ("\n".join(lines) + "\n").encode("utf-8")
        # Index-scoped path: the worker role may call es:ESHttp* on its index only.
        # require_alias: without the alias a write fails instead of creating an index of the
        # alias's name with a guessed mapping.
        path = f"/{urllib.parse.quote(self.index)}/_bulk?require_alias=true"
        status, payload = self.request("POST", path, body, "application/x-ndjson")
        payload = self._check(status, payload, "_bulk")
        items = (payload or {}).get("items")
        if not isinstance(items, list) or len(items) != len(writes):
            raise SearchRequestError("BadBulkResponse", True, "item count does not match the request")
        return [next(iter(item.values())) for item in items]
