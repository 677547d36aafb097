"""Fetch the worker's bundled libraries (worker_asset/requirements.txt) for every fleet
architecture and unpack them into worker_asset/vendor/<machine>/, which the CDK asset contains.

    python -m tools.vendor_wheels [--check]

pip downloads binary wheels only, for CPython 3.9 on manylinux2014 x86_64 and aarch64, and
checks every wheel against the hashes in the requirements file. Wheels are cached in
.cache/wheels/: once cached, this runs offline. Unpacking a wheel is its installation for
import purposes (no scripts or compiled steps are needed by these packages). A stamp file
records the requirements it was built from, so an unchanged vendor folder is left alone.
--check: exit 1 when the vendor folder is missing or stale (for tests and CI).
"""
from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REQUIREMENTS = REPO / "worker_asset" / "requirements.txt"
VENDOR = REPO / "worker_asset" / "vendor"
CACHE = REPO / ".cache" / "wheels"
MACHINES = {"x86_64": "manylinux2014_x86_64", "aarch64": "manylinux2014_aarch64"}
PYTHON_VERSION = "3.9"
STAMP = ".requirements-sha256"


def requirements_digest() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def up_to_date() -> bool:
    return all((VENDOR / m / STAMP).is_file()
               and (VENDOR / m / STAMP).read_text().strip() == requirements_digest()
               for m in MACHINES)


def fetch(machine: str) -> Path:
    dest = CACHE / machine
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q",
           "--require-hashes", "--only-binary=:all:", "--no-deps",
           "--platform", MACHINES[machine], "--python-version", PYTHON_VERSION,
           "--implementation", "cp", "-r", str(REQUIREMENTS), "-d", str(dest)]
    # Cached wheels that match the hashes satisfy pip without the network.
    offline = subprocess.run(cmd + ["--no-index", "--find-links", str(dest)],
                             capture_output=True, text=True)
    if offline.returncode != 0:
        online = subprocess.run(cmd, capture_output=True, text=True)
        if online.returncode != 0:
            raise SystemExit(f"pip download for {machine} failed:\n{online.stderr[-2000:]}")
    return dest


def unpack(machine: str, wheels: Path) -> None:
    target = VENDOR / machine
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    names: list[str] = []
    for wheel in sorted(wheels.glob("*.whl")):
        if "manylinux" in wheel.name and machine not in wheel.name:
            continue
        with zipfile.ZipFile(wheel) as z:
            z.extractall(target)
        names.append(wheel.name)
    for data in target.glob("*.data"):  # scripts and headers: not imported
        shutil.rmtree(data)
    (target / STAMP).write_text(requirements_digest() + "\n")
    print(f"vendor/{machine}: {', '.join(names)}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    if args.check:
        if up_to_date():
            return 0
        print("worker_asset/vendor is missing or stale: run `make setup`", file=sys.stderr)
        return 1
    if up_to_date():
        return 0
    for machine in MACHINES:
        unpack(machine, fetch(machine))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
