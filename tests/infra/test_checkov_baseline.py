"""checkov's baseline check (checks/checkov_baseline.py) on a recorded report: checkov 3.3.30,
`-o json --quiet --framework cloudformation` over cdk.out of all three environments
(`make checkov` runs the real thing, docs/ci.md)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from checks.checkov_baseline import (
    BASELINE_FILE,
    Failure,
    baseline_failures,
    compare,
    failures,
    main,
    recorded,
)

REPORT_FILE = Path(__file__).with_name("checkov_reports") / "all_environments.json"


@pytest.fixture
def report() -> dict:
    return json.loads(REPORT_FILE.read_text())


@pytest.fixture
def baseline() -> list[dict]:
    return json.loads(BASELINE_FILE.read_text())


def write(tmp_path: Path, name: str, content: object) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(content))
    return path


def test_the_recorded_report_matches_the_baseline(report, baseline, capsys):
    found = failures(report)
    assert len(found) == report["summary"]["failed"] == 30
    assert compare(found, baseline_failures(baseline)) == ([], [])
    assert main([str(REPORT_FILE)]) == 0
    assert "30 failures, each accepted" in capsys.readouterr().out


def test_failures_are_named_by_environment_stack_and_resource(report):
    assert Failure("CKV_AWS_18", "Stateful", "AWS::S3::Bucket.RawFilesAccessLogsAC27EF53", "prod") \
        in failures(report)
    assert Failure("CKV_AWS_317", "Search", "AWS::OpenSearchService::Domain.SearchDomain62FD613E", "dev") \
        in failures(report)


def test_an_injected_failure_fails_naming_it(report, tmp_path, capsys):
    injected = copy.deepcopy(report)
    new = copy.deepcopy(injected["results"]["failed_checks"][0])
    new.update(check_id="CKV_AWS_21", resource="AWS::S3::Bucket.RawFilesBucket49AA96EA",
               file_path="/assembly-prod/prodStateful168A54C0.template.json")
    injected["results"]["failed_checks"].append(new)
    assert main([str(write(tmp_path, "report.json", injected))]) == 1
    out = capsys.readouterr().out
    assert "NEW checkov failure" in out
    assert "CKV_AWS_21 prod/Stateful AWS::S3::Bucket.RawFilesBucket49AA96EA" in out


def test_an_accepted_failure_in_one_more_environment_is_new(report, baseline):
    """Accepted for dev only (CKV_AWS_317: no audit logs without fine-grained access control)
    is not accepted for prod."""
    injected = copy.deepcopy(report)
    (dev_only,) = [c for c in injected["results"]["failed_checks"] if c["check_id"] == "CKV_AWS_317"]
    injected["results"]["failed_checks"].append(
        {**dev_only, "file_path": "/assembly-prod/prodSearch3BA4D124.template.json"})
    new, stale = compare(failures(injected), baseline_failures(baseline))
    assert new == [Failure("CKV_AWS_317", "Search", "AWS::OpenSearchService::Domain.SearchDomain62FD613E", "prod")]
    assert stale == []


def test_a_stale_baseline_entry_fails(report, baseline, tmp_path, capsys):
    fixed = copy.deepcopy(report)
    fixed["results"]["failed_checks"] = [c for c in fixed["results"]["failed_checks"]
                                         if c["check_id"] != "CKV_AWS_33"]
    assert main([str(write(tmp_path, "report.json", fixed))]) == 1
    out = capsys.readouterr().out
    assert "STALE baseline entry" in out
    assert "CKV_AWS_33 prod/Alerts AWS::KMS::Key.TopicsTopicKey66CA1CF5" in out


def test_every_entry_needs_a_reason(baseline):
    thin = copy.deepcopy(baseline)
    thin[0]["reason"] = "accepted"
    with pytest.raises(ValueError, match="the reason must say why"):
        baseline_failures(thin)
    del thin[0]["reason"]
    with pytest.raises(ValueError, match="lacks reason"):
        baseline_failures(thin)


def test_an_entry_listed_twice_is_refused(baseline):
    with pytest.raises(ValueError, match="listed twice"):
        baseline_failures([*baseline, baseline[0]])


def test_a_finding_outside_the_assembly_is_refused(report):
    report["results"]["failed_checks"][0]["file_path"] = "/somewhere/else.json"
    with pytest.raises(ValueError, match="not a template of cdk.out/assembly-<env>/"):
        failures(report)


def test_a_report_of_several_frameworks_is_read_whole(report):
    empty = {"check_type": "secrets", "results": {"failed_checks": []}}
    assert failures([report, empty]) == failures(report)


def test_record_keeps_what_the_check_reads_and_drops_the_rest(report, tmp_path):
    """`--record` writes the report the tests read (docs/ci.md): checkov's full report trimmed."""
    full = copy.deepcopy(report)
    for check in full["results"]["failed_checks"]:
        check.update(code_block=[[1, "Type: AWS::S3::Bucket"]], guideline="https://example.invalid")
        check["check_result"]["evaluated_keys"] = ["Properties"]
    full["results"]["passed_checks"] = [{"check_id": "CKV_AWS_1"}]
    out = tmp_path / "recorded.json"
    assert main([str(write(tmp_path, "full.json", full)), "--record", str(out)]) == 0
    written = json.loads(out.read_text())
    assert written == recorded(full) == report
    assert failures(written) == failures(full)
