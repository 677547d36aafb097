"""index.py: the REST client (signing, error classification) against the fake."""
from __future__ import annotations

import pytest
from ingest_worker.index import DocumentWrite, OpenSearch, SearchRequestError


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
    with pytest.raises(SearchRequestError) as exc:  # the index is missing: the domain's state
        client.mget(["x"], ["etag"])
    assert exc.value.code == "index_not_found_exception" and exc.value.transient
    down = OpenSearch("http://127.0.0.1:9", "file-index", "none", "eu-west-1", timeout=1)
    with pytest.raises(SearchRequestError) as exc:
        down.ensure_index()
    assert exc.value.transient and exc.value.code == "ConnectionError"


def test_conditional_writes_let_only_one_of_two_writers_through(fake_os):
    client = OpenSearch(fake_os.url, "file-index", "none", "eu-west-1")
    client.ensure_index()
    assert client.mget(["a"], ["etag"]) == {}
    # Both writers read "not there": the second create is a conflict, not a second write.
    first = client.bulk_write([DocumentWrite("a", {"etag": "1"}, None)])
    second = client.bulk_write([DocumentWrite("a", {"etag": "1"}, None)])
    assert [first[0]["status"], second[0]["status"]] == [201, 409]
    assert second[0]["error"]["type"] == "version_conflict_engine_exception"
    stored = client.mget(["a"], ["etag"])["a"]
    assert stored.source == {"etag": "1"} and stored.primary_term == 1
    # Both read the same stored state: only the first conditional update applies.
    one = client.bulk_write([DocumentWrite("a", {"etag": "2"}, stored)])
    two = client.bulk_write([DocumentWrite("a", {"etag": "3"}, stored)])
    assert [one[0]["status"], two[0]["status"]] == [200, 409]
    assert "required seqNo" in two[0]["error"]["reason"]
    assert fake_os.docs("file-index")["a"]["source"] == {"etag": "2"}
    assert [w["etag"] for w in fake_os.write_log] == ["1", "2"]


def test_write_blocks_are_the_domains_fault(fake_os):
    client = OpenSearch(fake_os.url, "file-index", "none", "eu-west-1")
    client.ensure_index()
    fake_os.block_writes("index")
    (item,) = client.bulk_write([DocumentWrite("a", {}, None)])
    assert item["status"] == 403 and item["error"]["type"] == "cluster_block_exception"
    fake_os.block_writes("cluster")
    with pytest.raises(SearchRequestError) as exc:
        client.bulk_write([DocumentWrite("a", {}, None)])
    assert exc.value.code == "cluster_block_exception" and exc.value.transient
    fake_os.block_writes(None)
    fake_os.down = True
    with pytest.raises(SearchRequestError) as exc:
        client.mget(["a"], ["etag"])
    assert exc.value.code == "ConnectionError" and exc.value.transient
