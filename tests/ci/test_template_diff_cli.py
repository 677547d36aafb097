"""`python -m tools.template_diff` over ready-made assemblies: exit codes, stack discovery and
the files CI posts (plain text and the PR-comment Markdown)."""

from __future__ import annotations

import json

from tools.render import COMMENT_MARKER, MAX_COMMENT_CHARS
from tools.template_diff import EXIT_ERROR, EXIT_OK, EXIT_STATEFUL, main

from .helpers import modified, queue_template, write_assembly


def run(tmp_path, base, head, *extra):
    base_dir = write_assembly(tmp_path / "base", base)
    head_dir = write_assembly(tmp_path / "head", head)
    markdown = tmp_path / "diff.md"
    code = main(["--base-assembly", str(base_dir), "--head-assembly", str(head_dir),
                 "--markdown", str(markdown), "--base-label", "main", *extra])
    return code, markdown.read_text()


def test_stacks_are_discovered_in_every_stage_and_unchanged_ones_pass(tmp_path, capsys):
    stacks = {"dev/Stateful": queue_template(), "prod/Stateful": queue_template()}
    code, markdown = run(tmp_path, stacks, stacks)
    out = capsys.readouterr().out
    assert code == EXIT_OK
    assert "Stack dev/Stateful (file-search-dev-stateful): no differences" in out
    assert "Stack prod/Stateful (file-search-prod-stateful): no differences" in out
    assert markdown.startswith(COMMENT_MARKER)
    assert "There were no differences." in markdown


def test_stateful_replacement_fails_unless_allowed(tmp_path, capsys):
    base = {"prod/Stateful": queue_template()}
    head = {"prod/Stateful": queue_template(QueueName="renamed")}
    code, markdown = run(tmp_path, base, head)
    assert code == EXIT_STATEFUL
    assert "⛔ blocked" in markdown and "`allow-stateful-replacement`" in markdown
    assert "prod/Stateful: AWS::SQS::Queue MainQueue replaced (QueueName)" in capsys.readouterr().out

    code, markdown = run(tmp_path / "again", base, head, "--allow-stateful-changes")
    assert code == EXIT_OK
    assert "⚠️ allowed" in markdown


def test_new_stack_passes_and_removed_stack_with_data_fails(tmp_path, capsys):
    base = {"dev/Stateful": queue_template()}
    head = {"dev/Stateful": queue_template(), "dev/Fleet": {"Resources": {
        "Asg": {"Type": "AWS::AutoScaling::AutoScalingGroup", "Properties": {"MaxSize": "2"}}}}}
    code, markdown = run(tmp_path, base, head)
    assert code == EXIT_OK
    assert "| `dev/Fleet` | `file-search-dev-fleet` | added | 1 | 0 | 0 |" in markdown

    code, _ = run(tmp_path / "reverse", {"dev/Stateful": queue_template()}, {})
    assert code == EXIT_STATEFUL
    assert "STACK REMOVED FROM THE APP" in capsys.readouterr().out


def test_modified_property_shows_in_comment_details(tmp_path):
    after = modified(queue_template())
    after["Resources"]["MainQueue"]["Properties"]["VisibilityTimeout"] = 300
    code, markdown = run(tmp_path, {"dev/Stateful": queue_template()}, {"dev/Stateful": after})
    assert code == EXIT_OK
    assert "<details><summary><code>dev/Stateful</code>: 1 modified</summary>" in markdown
    assert "[~] VisibilityTimeout: 900 -> 300" in markdown


def test_huge_diff_keeps_the_comment_under_githubs_limit(tmp_path):
    after = queue_template()
    for i in range(2000):
        after["Resources"][f"Topic{i}"] = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": f"t{i}"}}
    code, markdown = run(tmp_path, {"dev/Stateful": queue_template()}, {"dev/Stateful": after})
    assert code == EXIT_OK
    assert len(markdown) < MAX_COMMENT_CHARS
    assert "too long for a comment" in markdown


def test_failed_security_review_is_reported(tmp_path):
    stacks = {"dev/Stateful": queue_template()}
    head_dir = write_assembly(tmp_path / "head", stacks)
    (head_dir / "validation-report.json").write_text(json.dumps({"pluginReports": [{
        "pluginName": "AwsSolutionsChecks", "conclusion": "failure",
        "violations": [{"ruleName": "AwsSolutions-SQS3", "description": "no DLQ"}]}]}))
    markdown = tmp_path / "diff.md"
    main(["--base-assembly", str(write_assembly(tmp_path / "base", stacks)),
          "--head-assembly", str(head_dir), "--markdown", str(markdown)])
    assert "❌ failed" in markdown.read_text()
    assert "AwsSolutionsChecks: AwsSolutions-SQS3: no DLQ" in markdown.read_text()


def test_missing_assembly_is_an_error_not_a_pass(tmp_path, capsys):
    code = main(["--base-assembly", str(tmp_path / "nope"), "--head-assembly", str(tmp_path)])
    assert code == EXIT_ERROR
    assert "not a cloud assembly" in capsys.readouterr().err


def test_unknown_ref_is_an_error(tmp_path, capsys):
    code = main(["--base", "no-such-ref-anywhere", "--head-assembly", str(tmp_path)])
    assert code == EXIT_ERROR
    assert "unknown git ref" in capsys.readouterr().err
