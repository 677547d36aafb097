"""harness.moto.start_moto_process: the tests' moto server in a process of its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from harness.moto import start_moto_process
from tests.support.cdk_app import REPO

PARENT = """
import os, sys
sys.path.insert(0, {repo!r})
from harness.moto import start_moto_process
url, stop = start_moto_process()
print(url, flush=True)
sys.stdin.read()
"""


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().split(")")[-1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose: it no longer serves.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(")")[-1].split()[0] != "Z"


def test_a_killed_test_process_leaves_no_moto_server_behind():
    parent = subprocess.Popen([sys.executable, "-c", PARENT.format(repo=str(REPO))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert parent.stdout.readline().startswith("http://")
    (child,) = _children(parent.pid)
    assert _alive(child)
    parent.send_signal(signal.SIGKILL)  # no cleanup runs: only the closed pipe tells the child
    parent.wait()
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_stop_ends_the_server():
    import urllib.error
    import urllib.request

    url, stop = start_moto_process()
    urllib.request.urlopen(f"{url}/moto-api/", timeout=10).close()
    stop()
    try:
        urllib.request.urlopen(f"{url}/moto-api/", timeout=2)
    except (urllib.error.URLError, ConnectionError):
        return
    raise AssertionError("moto still answers after stop()")
