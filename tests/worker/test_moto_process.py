"""harness.moto.start_moto_process: the tests' moto server in a process of its own."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from harness.moto import _list_moto_modules_once, start_moto_process
from tests.support.cdk_app import REPO
from tests.support.processes import children, gone

PARENT = """
import os, sys
sys.path.insert(0, {repo!r})
from harness.moto import start_moto_process
url, stop = start_moto_process()
print(url, flush=True)
sys.stdin.read()
"""


def test_a_killed_test_process_leaves_no_moto_server_behind():
    parent = subprocess.Popen([sys.executable, "-c", PARENT.format(repo=str(REPO))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert parent.stdout.readline().startswith("http://")
    (child,) = children(parent.pid)
    assert not gone(child)
    parent.send_signal(signal.SIGKILL)  # no cleanup runs: only the closed pipe tells the child
    parent.wait()
    deadline = time.monotonic() + 10
    while not gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(child)


def test_stop_ends_the_server():
    url, stop = start_moto_process()
    urllib.request.urlopen(f"{url}/moto-api/", timeout=10).close()
    stop()
    try:
        urllib.request.urlopen(f"{url}/moto-api/", timeout=2)
    except (urllib.error.URLError, ConnectionError):
        return
    raise AssertionError("moto still answers after stop()")


def test_the_server_lists_moto_s_packages_once_with_the_same_answer(monkeypatch):
    """moto's server asks on every request whether the Host header names one of its packages;
    the harness answers from one listing, the same as moto's own."""
    import os

    from moto import backends

    monkeypatch.setattr(backends, "list_of_moto_modules", backends.list_of_moto_modules)
    listed_by_moto = list(backends.list_of_moto_modules())
    _list_moto_modules_once()
    _list_moto_modules_once()  # idempotent: still the first listing

    def no_listing(path):
        raise AssertionError(f"listed {path} again")
    monkeypatch.setattr(os, "listdir", no_listing)
    assert list(backends.list_of_moto_modules()) == listed_by_moto
    assert "sqs" in listed_by_moto and "s3" in listed_by_moto
