"""moto's server on loopback: a real SQS and S3 API for local runs, tests and benchmarks."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable

from harness.moto_gaps import patch_moto

# moto's account: the owner of every bucket its server creates.
MOTO_ACCOUNT = "123456789012"


def start_moto_server(port: int = 0) -> tuple[str, Callable[[], None]]:
    """moto's threaded server on 127.0.0.1:`port` (0: a free port), with the gaps where it
    answers unlike AWS patched (harness/moto_gaps.py): (endpoint URL, stop function)."""
    from moto.server import ThreadedMotoServer

    patch_moto()
    _list_moto_modules_once()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    return f"http://{host}:{bound}", server.stop


def _list_moto_modules_once() -> None:
    """moto's server asks, on every request, whether the Host header names one of moto's
    packages, and answers by listing moto's folder (about 190 `isdir` calls): a quarter of the
    server's CPU time per request (measured with py-spy). The folder does not change while the
    process runs, so it is listed once. Idempotent."""
    from moto import backends

    if getattr(backends.list_of_moto_modules, "listed_once", False):
        return
    modules = tuple(backends.list_of_moto_modules())

    def list_of_moto_modules() -> tuple[str, ...]:
        return modules
    list_of_moto_modules.listed_once = True  # type: ignore[attr-defined]
    backends.list_of_moto_modules = list_of_moto_modules


def start_moto_process() -> tuple[str, Callable[[], None]]:
    """The same server in a process of its own (`python -m harness.moto`), for the tests:
    (endpoint URL, stop function).

    In the test process, moto's code would run under coverage's tracer (it is not measured, but
    under Python 3.11 every call pays for it: a third of the ops tests' time), and it would
    share that process's core. The child applies every patch of harness/moto_gaps.py before it
    answers; coverage does not follow it (pyproject.toml measures no subprocess)."""
    # Without moto's catalogue of public AMIs, EC2's state is rebuilt in 10 ms instead of 160 ms
    # after each reset (every ops test resets); the tests register the one image they launch.
    env = {**os.environ, "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}
    # stdin is the child's lifeline: it serves until stdin closes, so a test process that is
    # killed leaves no server behind.
    child = subprocess.Popen([sys.executable, "-m", "harness.moto"], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert child.stdin is not None and child.stdout is not None
    url = child.stdout.readline().strip()
    if not url.startswith("http://"):
        child.kill()
        raise RuntimeError(f"moto's server process did not start (exit {child.wait()})")

    def stop() -> None:  # moto keeps nothing worth a clean shutdown
        child.kill()
        child.wait()
        child.stdin.close()
        child.stdout.close()
    return url, stop


def _serve() -> None:
    """`python -m harness.moto`: print the URL, then serve until stdin closes."""
    from harness.moto_gaps import patch_moto_removal_events

    patch_moto_removal_events()
    url, _ = start_moto_server()
    print(url, flush=True)
    sys.stdin.read()
    os._exit(0)  # the server's threads need no goodbye


if __name__ == "__main__":
    _serve()
