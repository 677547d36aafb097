# The README's two commands are `make synth` and `make test`; both set everything up first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CDK := npx --no-install cdk
ENV ?= dev
# Stacks of one environment (a CDK Stage): `make deploy ENV=prod` -> 'prod/*'.
STACKS = '$(ENV)/*'

# Silences jsii's old-Node banners for every command below (the variables are set only there).
include contract/jsii.env

VENV_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
PY39_STAMP := $(VENV)/.py39-installed
# The worker's bundled libraries (docs/extraction.md): in the asset, for both fleet architectures.
VENDOR_STAMP := worker_asset/vendor/x86_64/.requirements-sha256
# checkov (the third rule set) lives in its own virtualenv: about 2 minutes and 290 MB to
# install, with pins that would fight the CDK's (docs/ci.md).
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: bench-extract checkov help setup test-setup synth synth-time test test-fast lint bench bench-moto bench-aws-profile alarm-replay alarm-docs diff cost local local-demo deploy destroy ops clean

help:
	@echo "make synth                 set up, synthesize dev, staging and prod into cdk.out"
	@echo "make test                  set up, run the whole test suite (lint, cfn-lint, pytest)"
	@echo "make test-fast             set up, the tests that synthesize nothing (worker, bench, tools)"
	@echo "make bench                 set up, run both worker benchmarks below (about 4 minutes); each"
	@echo "                           writes BENCH_RESULTS.json and rewrites the docs' figures from it"
	@echo "make bench-moto            the worker benchmark on a local moto server"
	@echo "make bench-aws-profile     the worker under in-region latency (SQS/S3 stand-in)"
	@echo "make bench-extract         text extraction: share of expected text, docs/s, MB/s, RSS"
	@echo "make synth-time            set up, time synthesis of all environments vs a one-bucket app"
	@echo "make checkov               synthesize, run checkov, compare with checks/checkov_baseline.json"
	@echo "make alarm-replay          replay the incidents through the alarms, rewrite docs/alarms.md's table"
	@echo "make alarm-docs            rewrite the alarm tables of docs/ from stacks/monitoring/alarm_table.py"
	@echo "make diff [BASE=ref]       offline diff of every stack against BASE (default HEAD)"
	@echo "make cost                  synthesize, estimate each environment's monthly cost (also into docs/environments.md)"
	@echo "make local                 the pipeline on this machine (no AWS) until Ctrl-C"
	@echo "make local-demo            the same, unattended: uploads samples/, checks every outcome"
	@echo "make deploy ENV=dev        cdk deploy the stacks of one environment"
	@echo "make destroy ENV=dev       cdk destroy the stacks of one environment"
	@echo "make ops ARGS=\"...\"        the operations CLI, e.g. ARGS=\"diagnose --env prod\" (docs/runbook.md)"
	@echo "make clean                 remove cdk.out and caches (keeps .venv and node_modules)"

$(VENV_STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

# Amazon Linux 2023 runs the worker on python3.9: when this machine has a 3.9 interpreter, the
# worker's tests also run it end to end there (otherwise that one test is reported as skipped).
$(PY39_STAMP): requirements-py39.txt
	@py39=$$(for p in python3.9 $$HOME/.pyenv/versions/3.9*/bin/python3.9 /usr/bin/python3.9; do \
	  "$$p" -c '' >/dev/null 2>&1 && echo "$$p" && break; done); \
	if [ -n "$$py39" ]; then \
	  echo "Python 3.9 for the worker's tests: $$py39"; \
	  "$$py39" -m venv $(VENV)/py39 && $(VENV)/py39/bin/pip install --disable-pip-version-check -q -r requirements-py39.txt; \
	else echo "note: no Python 3.9 here; the worker's 3.9 end-to-end test will be skipped"; fi
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

$(VENDOR_STAMP): worker_asset/requirements.txt $(VENV_STAMP)
	$(PY) -m tools.vendor_wheels

setup: $(VENV_STAMP) $(NODE_STAMP) $(VENDOR_STAMP)

test-setup: setup $(PY39_STAMP)

synth: setup
	$(CDK) synth '**' --quiet
	@echo "Synthesized into cdk.out (cdk-nag and Control Tower report: cdk.out/validation-report.json)"

synth-time: setup
	$(PY) -m tools.synth_time

$(CHECKOV_STAMP): requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --disable-pip-version-check -q -r requirements-checkov.txt
	touch $@

# --soft-fail: checkov's own exit code would fail on accepted failures; the baseline decides
# (a new failure or a stale entry fails), and a checkov crash leaves no report, which fails too.
checkov: synth $(CHECKOV_STAMP)
	rm -f cdk.out/checkov-report.json
	$(CHECKOV_VENV)/bin/checkov -d cdk.out --framework cloudformation --quiet --soft-fail \
	  --skip-download -o json > cdk.out/checkov-report.json
	$(PY) -m checks.checkov_baseline cdk.out/checkov-report.json

lint: setup
	$(VENV)/bin/ruff check .

# Three processes on the two cores (docs/ci.md): part of the suite waits (compressed outages,
# subprocesses, moto's process), and a third process fills those waits (measured idle: 194 s
# against 231 s with two, 220 s with four). loadfile keeps each test module in one process, so a
# module-scoped fixture is built once per run. They share one synthesis
# (tests/support/synth_cache.py); pytest-cov combines the processes' coverage.
# --no-loadscope-reorder: modules are handed out in the collection's order, which puts the
# slowest first (tests/support/slow_first.py), not xdist's most-tests-first.
PYTEST_PARALLEL := -n 3 --dist loadfile --no-loadscope-reorder

# Python may cache bytecode while testing, whatever the shell says (PYTHONDONTWRITEBYTECODE):
# the suite starts hundreds of Python processes (workers, sandboxes, CLIs), and each compiled
# the project's modules again. The caches are gitignored and the worker asset excludes them.
test test-fast: export PYTHONDONTWRITEBYTECODE :=

test: test-setup lint
	@start=$$(date +%s); \
	$(PY) -m pytest $(PYTEST_PARALLEL) --cov --cov-report=term --durations=25; rc=$$?; \
	echo "make test: pytest wall time $$(( $$(date +%s) - start )) s"; exit $$rc

# The loop while editing worker or tool code: every test not marked `synth` (tests/conftest.py).
test-fast: test-setup
	@start=$$(date +%s); \
	$(PY) -m pytest $(PYTEST_PARALLEL) -m "not synth"; rc=$$?; \
	echo "make test-fast: pytest wall time $$(( $$(date +%s) - start )) s"; exit $$rc

# Both write their part of BENCH_RESULTS.json and keep the other's.
bench: bench-moto bench-aws-profile

# Each then rewrites the figure blocks of the docs from BENCH_RESULTS.json (tools/bench_docs.py).
bench-moto: setup
	$(PY) -m bench.worker_bench
	$(PY) -m tools.bench_docs

bench-aws-profile: setup
	$(PY) -m bench.aws_profile
	$(PY) -m tools.bench_docs

bench-extract: setup
	$(PY) bench/extraction_bench.py $(BENCH_ARGS)
	$(PY) -m tools.bench_docs

alarm-replay: setup
	UPDATE_ALARM_REPLAY=1 $(PY) -m pytest -q tests/infra/test_alarm_replay.py

alarm-docs: setup
	$(PY) -m tools.alarm_docs

diff: setup
	$(PY) -m tools.template_diff --base $(or $(BASE),HEAD)

# The pipeline on this machine, built from the dev templates in cdk.out (synthesized if missing).
# Options: LOCAL_ARGS="--aws-port 5051 --worker-env WORKER_LOG_LEVEL=DEBUG"; python -m local --help
local: setup
	$(PY) -m local $(LOCAL_ARGS)

local-demo: setup
	$(PY) -m local.demo $(LOCAL_ARGS)

# Prices: tools/prices.toml (dated; one region, on-demand). Options: python -m tools.cost --help
cost: synth
	$(PY) -m tools.cost --assembly cdk.out --update-doc

deploy: setup
	$(CDK) deploy -c env=$(ENV) $(STACKS)

# Fleet (with Monitoring, which depends on it) first; then wait until Lambda has released the
# network interfaces of the Fleet's function in the VPC, which otherwise make deleting Network
# fail for up to about 40 minutes (docs/deploy.md#roll-back); then the rest.
destroy: setup
	$(CDK) destroy -c env=$(ENV) '$(ENV)/Fleet'
	$(PY) -m ops wait-lambda-enis --env $(ENV)
	$(CDK) destroy -c env=$(ENV) $(STACKS)

# The operations CLI (python -m ops): make ops ARGS="diagnose --env prod".
ops: setup
	$(PY) -m ops $(ARGS)

clean:
	rm -rf cdk.out .pytest_cache .ruff_cache .coverage htmlcov
	find . -name __pycache__ -type d -not -path './.venv/*' -not -path './node_modules/*' -prune -exec rm -rf {} +
