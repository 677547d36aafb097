"""The PR comment's cost line per environment: before -> after and the delta, priced from the
base and head assemblies with the same price table."""

from __future__ import annotations

import copy

from tools.template_diff import EXIT_OK, REPO, main

from .helpers import write_assembly


def fleet_template(min_size: str, endpoint_subnets: int) -> dict:
    return {"Resources": {
        "LaunchTemplate": {"Type": "AWS::EC2::LaunchTemplate", "Properties": {
            "LaunchTemplateData": {"InstanceType": "t3.small"}}},
        "Group": {"Type": "AWS::AutoScaling::AutoScalingGroup", "Properties": {
            "MinSize": min_size, "MaxSize": "2",
            "LaunchTemplate": {"LaunchTemplateId": {"Ref": "LaunchTemplate"}, "Version": "1"}}},
        "Sqs": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {
            "VpcEndpointType": "Interface",
            "SubnetIds": [{"Ref": f"Subnet{i}"} for i in range(endpoint_subnets)]}},
    }}


def diff_markdown(tmp_path, base: dict, head: dict) -> tuple[str, str]:
    markdown = tmp_path / "diff.md"
    text = tmp_path / "diff.txt"
    code = main(["--base-assembly", str(write_assembly(tmp_path / "base", base)),
                 "--head-assembly", str(write_assembly(tmp_path / "head", head)),
                 "--markdown", str(markdown), "--text", str(text), "--base-label", "main"])
    assert code == EXIT_OK
    return markdown.read_text(), text.read_text()


def test_each_environment_gets_before_after_and_delta(tmp_path):
    base = {"dev/Fleet": fleet_template("1", 2), "prod/Fleet": fleet_template("1", 2)}
    head = copy.deepcopy(base)
    head["dev/Fleet"] = fleet_template("0", 1)
    markdown, text = diff_markdown(tmp_path, base, head)
    assert "**Monthly cost estimate** (`make cost`; us-east-1 on-demand list prices as of" in markdown
    dev = next(line for line in markdown.splitlines() if line.startswith("- `dev`"))
    prod = next(line for line in markdown.splitlines() if line.startswith("- `prod`"))
    # One t3.small month and one endpoint-AZ month fewer at min; only the endpoint-AZ at max.
    assert " (−$" in dev.split("with the fleet at min")[0]
    assert "(±$0.00)" in prod and prod.count("→") == 2
    # The comment's cost block sits above the per-stack table.
    assert markdown.index("Monthly cost estimate") < markdown.index("| Stack |")
    assert "Monthly cost estimate (make cost;" in text and "- dev: $" in text


def test_a_template_that_cannot_be_priced_does_not_stop_the_diff(tmp_path):
    unpriceable = fleet_template("1", 2)
    unpriceable["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["InstanceType"] = "x9.huge"
    markdown, _ = diff_markdown(tmp_path, {"dev/Fleet": fleet_template("1", 2)}, {"dev/Fleet": unpriceable})
    assert "**Monthly cost estimate**: not computed: no price for EC2 instance type 'x9.huge'" in markdown
    assert "| `dev/Fleet` |" in markdown


def test_the_pull_request_workflow_posts_the_cost_line():
    workflow = (REPO / ".github" / "workflows" / "pr-infra-diff.yml").read_text()
    step = workflow.split("- name: Offline diff and cost estimate against the base branch", 1)[1]
    step = step.split("- name:", 1)[0]
    # The diff tool writes the cost lines into the Markdown that becomes the comment.
    assert ".venv/bin/python -m tools.template_diff" in step and "--markdown cdk-diff.md" in step
    assert "--head-assembly cdk.out" in step
