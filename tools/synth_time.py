"""How long `cdk synth` of every environment takes, against a trivial one-bucket app.

    python -m tools.synth_time [--runs 3] [--budget 3.0]        # what `make synth-time` runs

Both are synthesized by the same CDK CLI and Python on this machine, alternately, so that
load from other processes falls on both alike. The whole app runs everything a real
synthesis runs (three environments, cdk-nag, Control Tower's cfn-guard rules, the
notification guard); the trivial app is one stack with one bucket and no checks, i.e. the
fixed cost of jsii and the CLI. Prints each run, the medians and their ratio; exits 1 when
the ratio exceeds --budget. A benchmark, not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from contract.synth import REPO, synth_env

CDK = ["node", str(REPO / "node_modules" / "aws-cdk" / "bin" / "cdk")]
TRIVIAL_APP = """\
from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3

app = App()
s3.Bucket(Stack(app, "Trivial"), "Bucket")
app.synth()
"""


@dataclass
class Timing:
    wall: float  # seconds on the clock
    cpu: float  # user + system seconds of every process it ran (CLI, Python, jsii, cfn-guard)


def timed(command: list[str], cwd: Path) -> Timing:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=synth_env(), capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timing(wall=elapsed, cpu=cpu)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--budget", type=float, default=3.0,
                        help="largest allowed ratio whole app / trivial app (default 3.0)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="synth-time-") as tmp:
        trivial_dir = Path(tmp) / "trivial"
        trivial_dir.mkdir()
        (trivial_dir / "app.py").write_text(TRIVIAL_APP)
        (trivial_dir / "cdk.json").write_text(json.dumps({"app": f"{sys.executable} app.py"}))
        full_out = Path(tmp) / "full.out"
        trivial: list[Timing] = []
        full: list[Timing] = []
        for run in range(1, args.runs + 1):
            trivial.append(timed([*CDK, "synth", "--quiet"], trivial_dir))
            full.append(timed([*CDK, "synth", "**", "--quiet", "--output", str(full_out)], REPO))
            print(f"run {run}: trivial one-bucket app {trivial[-1].wall:.1f} s ({trivial[-1].cpu:.1f} s "
                  f"CPU), all environments {full[-1].wall:.1f} s ({full[-1].cpu:.1f} s CPU), "
                  f"load average {os.getloadavg()[0]:.1f}", flush=True)

    wall = statistics.median(t.wall for t in full) / statistics.median(t.wall for t in trivial)
    cpu = statistics.median(t.cpu for t in full) / statistics.median(t.cpu for t in trivial)
    print(f"median ratio, all environments / trivial app: wall clock {wall:.2f}, CPU time {cpu:.2f} "
          f"({os.cpu_count()} CPUs)")
    # On a shared machine the wall clock measures the neighbours as much as the synthesis; the
    # CPU time each synthesis needs does not depend on them, so the budget applies to it.
    print(f"budget {args.budget:.1f}: {'ok' if cpu <= args.budget else 'OVER'}")
    return 0 if cpu <= args.budget else 1


if __name__ == "__main__":
    sys.exit(main())
