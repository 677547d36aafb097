"""index.py: the REST client (signing, error classification) against the fake."""
from __future__ import annotations

import pytest
from ingest_worker.index import ALIAS_MISSING, DocumentWrite, OpenSearch, SearchRequestError

from harness.fake_opensearch import FakeOpenSearch

WRITE = "file-index-write"


def test_requests_are_sigv4_signed_for_es(fake_os):
    import botocore.credentials

    creds = botocore.credentials.Credentials("AKIDEXAMPLE", "secret", "token")
    client = OpenSearch(fake_os.url, WRITE, "sigv4", "eu-west-1", credentials=creds)
    assert client.check_write_alias() == "file-index-v1"
    headers = {k.lower(): v for k, v in fake_os.requests[-1]["headers"].items()}
    assert headers["authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/es/aws4_request" in headers["authorization"]
    assert headers["x-amz-security-token"] == "token"
    unsigned = OpenSearch(fake_os.url, WRITE, "sigv4", "eu-west-1", credentials=None)
    with pytest.raises(SearchRequestError):
        unsigned.check_write_alias()


def test_client_errors_are_classified(fake_os):
    client = OpenSearch(fake_os.url, WRITE, "none", "eu-west-1")
    fake_os.fail_next(1, 503)
    with pytest.raises(SearchRequestError) as exc:
        client.check_write_alias()
    assert exc.value.transient and exc.value.code == "unavailable_shards_exception"
    other = OpenSearch(fake_os.url, "no-such-write", "none", "eu-west-1")
    with pytest.raises(SearchRequestError) as exc:  # the alias is missing: the domain's state
        other.mget(["x"], ["etag"])
    assert exc.value.code == ALIAS_MISSING and exc.value.transient
    down = OpenSearch("http://127.0.0.1:9", WRITE, "none", "eu-west-1", timeout=1)
    with pytest.raises(SearchRequestError) as exc:
        down.check_write_alias()
    assert exc.value.transient and exc.value.code == "ConnectionError"


def test_conditional_writes_let_only_one_of_two_writers_through(fake_os):
    client = OpenSearch(fake_os.url, WRITE, "none", "eu-west-1")
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
    assert fake_os.docs(WRITE)["a"]["source"] == {"etag": "2"}
    assert [w["etag"] for w in fake_os.write_log] == ["1", "2"]


def test_write_blocks_are_the_domains_fault(fake_os):
    client = OpenSearch(fake_os.url, WRITE, "none", "eu-west-1")
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


def test_a_missing_write_alias_is_an_environment_fault_and_nothing_is_created():
    fake = FakeOpenSearch().start()
    try:
        client = OpenSearch(fake.url, WRITE, "none", "eu-west-1")
        with pytest.raises(SearchRequestError) as exc:
            client.check_write_alias()
        assert exc.value.code == ALIAS_MISSING and exc.value.transient
        # require_alias=true: the write is refused per item instead of auto-creating an index
        # named like the alias with a guessed mapping.
        (item,) = client.bulk_write([DocumentWrite("a", {"etag": "1"}, None)])
        assert item["status"] == 404 and item["error"]["type"] == "index_not_found_exception"
        assert "[require_alias] request flag is [true]" in item["error"]["reason"]
        assert fake.indices == {}
        # An index that merely has the alias's name is not the alias either.
        fake.dispatch("PUT", "/" + WRITE, {}, b"{}")
        with pytest.raises(SearchRequestError) as exc:
            client.check_write_alias()
        assert exc.value.code == ALIAS_MISSING
    finally:
        fake.stop()


def test_worker_pauses_until_its_write_alias_exists_and_creates_nothing(aws, run_worker):
    from harness.local_aws import wait_for

    fake = FakeOpenSearch().start()  # a domain without the deploy's index and aliases
    try:
        aws.put("raw-files/waiting.txt", b"waits in the queue")
        with run_worker(aws.env(fake), speed=20) as w:
            wait_for(lambda: [e for e in w.logs.events("consumption_paused")
                              if e["error"] == ALIAS_MISSING], what="paused on the alias")
            assert fake.indices == {} and not w.logs.events("index_ready")
            fake.bootstrap("file-index")  # the deploy (or ops repair) creates them
            wait_for(lambda: w.logs.events("index_ready"), what="resumed")
            wait_for(lambda: w.processed("indexed"), what="indexed")
            w.stop()
        assert set(fake.indices) == {"file-index-v1"}
        assert aws.drain_dlq() == []
    finally:
        fake.stop()
