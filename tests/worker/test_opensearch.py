"""opensearch.py: the REST client (signing, error classification) against the fake."""
from __future__ import annotations

import pytest
from ingest_worker.opensearch import OpenSearch, SearchRequestError


def test_requests_are_sigv4_signed_for_es(fake_os):
    import botocore.credentials

    creds = botocore.credentials.Credentials("AKIDEXAMPLE", "secret", "token")
    client = OpenSearch(fake_os.url, "file-index", "sigv4", "eu-west-1", credentials=creds)
    assert client.ensure_index() is True
    assert client.ensure_index() is False  # resource_already_exists_exception
    headers = {k.lower(): v for k, v in fake_os.requests[-1]["headers"].items()}
    assert headers["authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/es/aws4_request" in headers["authorization"]
    assert headers["x-amz-security-token"] == "token"
    unsigned = OpenSearch(fake_os.url, "file-index", "sigv4", "eu-west-1", credentials=None)
    with pytest.raises(SearchRequestError):
        unsigned.ensure_index()


def test_client_errors_are_classified(fake_os):
    client = OpenSearch(fake_os.url, "file-index", "none", "eu-west-1")
    fake_os.fail_next(1, 503)
    with pytest.raises(SearchRequestError) as exc:
        client.ensure_index()
    assert exc.value.transient and exc.value.code == "unavailable_shards_exception"
    with pytest.raises(SearchRequestError) as exc:  # index does not exist yet
        client.mget_sources(["x"], ["etag"])
    assert exc.value.code == "index_not_found_exception" and not exc.value.transient
    down = OpenSearch("http://127.0.0.1:9", "file-index", "none", "eu-west-1", timeout=1)
    with pytest.raises(SearchRequestError) as exc:
        down.ensure_index()
    assert exc.value.transient and exc.value.code == "ConnectionError"
