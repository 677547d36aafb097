"""Entry point: `cd worker_asset && python3 -m ingest_worker`."""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from typing import Any, Callable, List, Mapping, Optional, Tuple

from . import config
from .logs import JsonLog


def _help_epilog() -> str:
    lines = ["environment variables (configuration is by environment only):"]
    for name, required, description in config.ENV_VARS:
        lines.append(f"  {name}{' (required)' if required else ''}\n      {description}")
    lines.append("exit codes: 0 stopped cleanly, 2 invalid configuration")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python3 -m ingest_worker",
        description="Consume S3 ObjectCreated notifications from SQS and index the objects "
                    "into OpenSearch. Logs one JSON object per line on stdout.",
        epilog=_help_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check-config", action="store_true",
                        help="validate the environment, print the configuration, exit")
    return parser


def build(cfg: config.Config, log: JsonLog, clock: Any = None) -> Tuple[Any, Any]:
    """Create clients and the worker. Imported lazily: --help works without boto3."""
    import boto3
    from botocore.config import Config as BotoConfig

    from .index import OpenSearch
    from .worker import Worker

    session = boto3.session.Session(region_name=cfg.region)
    boto_cfg = BotoConfig(
        connect_timeout=5, read_timeout=max(30, cfg.wait_time + 10),
        retries={"max_attempts": 4, "mode": "standard"},
        # fetch threads, a receive ahead and a receive per pipeline, settle threads, heartbeat
        max_pool_connections=cfg.concurrency + 4 * cfg.pipelines + 4)
    kw = {"config": boto_cfg, "endpoint_url": cfg.aws_endpoint_url}
    sqs = session.client("sqs", **kw)
    s3 = session.client("s3", **kw)
    search = OpenSearch(cfg.opensearch_endpoint, cfg.opensearch_index, cfg.opensearch_auth,
                        cfg.region, credentials=session.get_credentials()
                        if cfg.opensearch_auth == "sigv4" else None)
    on_stopped: Optional[Callable[[], None]] = None
    if cfg.lifecycle_hook_name and cfg.asg_name:
        from . import lifecycle

        autoscaling = session.client("autoscaling", **kw)

        def on_stopped() -> None:
            lifecycle.complete(autoscaling, cfg.lifecycle_hook_name, cfg.asg_name, log)

    from .liveness import this_instance

    return Worker(cfg, log, sqs, s3, search, on_stopped=on_stopped, clock=clock,
                  instance_id=this_instance(cfg.asg_name, log)), session


def main(argv: Optional[List[str]] = None, environ: Optional[Mapping[str, str]] = None) -> int:
    args = _parser().parse_args(argv)
    log = JsonLog("INFO")
    try:
        cfg = config.load(os.environ if environ is None else environ)
    except config.ConfigError as exc:
        log.error("config_invalid", f"Invalid configuration: {exc}")
        print(f"ingest_worker: invalid configuration: {exc}", file=sys.stderr)
        return 2
    log.set_level(cfg.log_level)
    if args.check_config:
        print(json.dumps({"config_ok": True, **cfg.__dict__}, sort_keys=True))
        return 0
    try:
        worker, _ = build(cfg, log)
    except ImportError as exc:
        log.error("startup_failed", f"boto3/botocore is not importable: {exc}")
        return 2
    signal.signal(signal.SIGTERM, lambda *_: worker.request_stop("SIGTERM"))
    signal.signal(signal.SIGINT, lambda *_: worker.request_stop("SIGINT"))
    return worker.run()


if __name__ == "__main__":
    exit_code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Threads stuck in I/O after a shutdown timeout must not keep the process alive.
    os._exit(exit_code)
