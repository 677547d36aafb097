"""Fakes and harnesses that `local`, `bench` and the tests share: the fake OpenSearch, the
latency stand-in for SQS and S3, moto's server with its patches, and the worker run as a process.

Nothing here is deployed; nothing outside local, bench and tests imports it.
"""
