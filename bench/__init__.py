"""Worker benchmarks: `python -m bench.worker_bench` (moto) and `python -m bench.aws_profile`
(in-region latency stand-in); `make bench` runs both."""
