"""moto's server on loopback: a real SQS and S3 API for local runs, tests and benchmarks."""

from __future__ import annotations

import logging
from collections.abc import Callable

from harness.moto_gaps import patch_moto

# moto's account: the owner of every bucket its server creates.
MOTO_ACCOUNT = "123456789012"


def start_moto_server(port: int = 0) -> tuple[str, Callable[[], None]]:
    """moto's threaded server on 127.0.0.1:`port` (0: a free port), with the gaps where it
    answers unlike AWS patched (harness/moto_gaps.py): (endpoint URL, stop function)."""
    from moto.server import ThreadedMotoServer

    patch_moto()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    return f"http://{host}:{bound}", server.stop
