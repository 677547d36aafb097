"""The search stack: the OpenSearch domain and the worker's write access to it."""
