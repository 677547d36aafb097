"""The fake OpenSearch lives in local/fake_opensearch.py: `make local` serves it to the real worker,
and the tests and the benchmark import it from here as before."""

from local.fake_opensearch import FakeOpenSearch

__all__ = ["FakeOpenSearch"]
