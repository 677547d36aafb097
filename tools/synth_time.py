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
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CDK = ["node", str(REPO / "node_modules" / "aws-cdk" / "bin" / "cdk")]
TRIVIAL_APP = """\
from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3

app = App()
s3.Bucket(Stack(app, "Trivial"), "Bucket")
app.synth()
"""


def timed(command: list[str], cwd: Path) -> float:
    env = {**os.environ, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
           "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--budget", type=float, default=3.0,
                        help="largest allowed ratio whole app / trivial app (default 3.0)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="synth-time-") as tmp:
        trivial = Path(tmp) / "trivial"
        trivial.mkdir()
        (trivial / "app.py").write_text(TRIVIAL_APP)
        (trivial / "cdk.json").write_text(json.dumps({"app": f"{sys.executable} app.py"}))
        full_out = Path(tmp) / "full.out"
        times: dict[str, list[float]] = {"trivial one-bucket app": [], "all environments": []}
        for run in range(1, args.runs + 1):
            times["trivial one-bucket app"].append(timed([*CDK, "synth", "--quiet"], trivial))
            times["all environments"].append(
                timed([*CDK, "synth", "**", "--quiet", "--output", str(full_out)], REPO))
            print(f"run {run}: " + ", ".join(f"{name} {values[-1]:.1f} s"
                                             for name, values in times.items()), flush=True)

    trivial_s, full_s = (statistics.median(v) for v in times.values())
    ratio = full_s / trivial_s
    print(f"median: trivial one-bucket app {trivial_s:.1f} s, all environments {full_s:.1f} s, "
          f"ratio {ratio:.2f} (budget {args.budget:.1f}); load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    return 0 if ratio <= args.budget else 1


if __name__ == "__main__":
    sys.exit(main())
