"""The guard as CDK runs it: refuses every second notification path, passes the real app.

The broken variants are built for real (the project's StatefulStack plus one mistake each, or
plain L1 resources in an unrelated stack) and synthesized together in one app, one stage per
variant, so that one synthesis proves each variant is refused on its own and each accepted
variant is not.
"""

from __future__ import annotations

import json
import subprocess
import textwrap

import pytest
from aws_cdk import Stage

from checks.notification_guard import RULE_NAME
from checks.synthesis import add_synthesis_checks
from environments import ENVIRONMENTS
from stacks.stateful.stack import StatefulStack
from tests.infra.guard.variants import ACCEPTED, REFUSED
from tests.support.cdk_app import REPO, new_app

GUARD = "SingleNotificationPathGuard"


@pytest.fixture(scope="module")
def broken_report(tmp_path_factory) -> dict:
    outdir = tmp_path_factory.mktemp("broken")
    app = new_app(outdir)
    for name, (break_it, _) in REFUSED.items():
        break_it(StatefulStack(Stage(app, name), "Stateful", config=ENVIRONMENTS["dev"]))
    for name, build in ACCEPTED.items():
        build(StatefulStack(Stage(app, name), "Stateful", config=ENVIRONMENTS["dev"]))
    add_synthesis_checks(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    return json.loads((outdir / "validation-report.json").read_text())


def guard_violations(report: dict) -> list[dict]:
    plugin = [p for p in report["pluginReports"] if p["pluginName"] == GUARD]
    return plugin[0]["violations"] if plugin else []


def violations_in(report: dict, variant: str) -> list[dict]:
    return [v for v in guard_violations(report)
            if all(c["cloudFormationResource"]["templatePath"].startswith(f"assembly-{variant}/")
                   for c in v["violatingConstructs"])]


@pytest.mark.parametrize("variant", REFUSED)
def test_guard_refuses_each_second_path(broken_report, variant):
    expected_path = REFUSED[variant][1]
    mine = violations_in(broken_report, variant)
    assert len(mine) == 1, f"{variant}: {json.dumps(guard_violations(broken_report), indent=1)[:3000]}"
    violation = mine[0]
    assert violation["ruleName"] == RULE_NAME
    assert violation["severity"] == "error"
    text = violation["description"]
    paths = 3 if variant == "eventbridge-rule" else 2  # that variant makes both mistakes
    assert f"receives S3 events through {paths} paths" in text
    assert expected_path in text
    if variant != "raw-l1":
        assert f"Queue {variant}/Stateful/IngestQueues/MainQueue" in text
        assert f"{variant}/Stateful/RawFiles/Bucket" in text


@pytest.mark.parametrize("variant", ACCEPTED)
def test_guard_accepts_s3_rules_that_do_not_target_the_queue(broken_report, variant):
    assert violations_in(broken_report, variant) == []


def test_guard_reports_only_the_broken_variants(broken_report):
    assert len(guard_violations(broken_report)) == len(REFUSED)


def test_the_real_app_passes_every_check(synthesized):
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    failures = [p for p in report["pluginReports"] if p.get("conclusion") != "success"]
    assert failures == []


def test_the_real_app_has_nothing_for_review(synthesized):
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    assert guard_violations(report) == []


def test_nothing_in_the_app_acknowledges_the_guard(synthesized):
    for metadata in synthesized.outdir.rglob("*.metadata.json"):
        assert RULE_NAME not in metadata.read_text(), metadata


def test_the_cdk_cli_refuses_a_broken_app(tmp_path):
    """What users run: `cdk synth` fails with the guard's message."""
    broken_app = tmp_path / "broken_app.py"
    broken_app.write_text(textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(REPO)!r})
        from aws_cdk import App
        from environments import environments_named
        from stacks.ingestion_stage import compose_app
        from tests.infra.guard.variants import second_queue_configuration
        app = App()
        stages = compose_app(app, environments_named(["dev"]))
        second_queue_configuration(stages["dev"].stateful)
        app.synth()
    """))
    result = subprocess.run(
        ["npx", "--no-install", "cdk", "synth", "--quiet", "--app",
         f"{REPO / '.venv/bin/python'} {broken_app}", "--output", str(tmp_path / "cdk.out"), "dev/*"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "receives S3 events through 2 paths" in output
    assert "QueueConfiguration #2 on bucket dev/Stateful/RawFiles/Bucket" in output
