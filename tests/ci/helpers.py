"""Small hand-built templates and cloud assemblies for the CI-tooling tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any


def queue_template(**queue_properties: Any) -> dict[str, Any]:
    """A stack like dev/Stateful in miniature: a queue, a bucket, a policy and CDK's metadata."""
    properties = {"VisibilityTimeout": 900, "MessageRetentionPeriod": 345600,
                  "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["Dlq", "Arn"]},
                                    "maxReceiveCount": 5}}
    properties.update(queue_properties)
    return {
        "Resources": {
            "MainQueue": {"Type": "AWS::SQS::Queue", "Properties": properties,
                          "UpdateReplacePolicy": "Retain", "DeletionPolicy": "Retain",
                          "Metadata": {"aws:cdk:path": "dev/Stateful/IngestQueues/MainQueue/Resource"}},
            "Dlq": {"Type": "AWS::SQS::Queue", "Properties": {"MessageRetentionPeriod": 1209600},
                    "DeletionPolicy": "Delete"},
            "RawBucket": {"Type": "AWS::S3::Bucket",
                          "Properties": {"VersioningConfiguration": {"Status": "Enabled"}}},
            "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 14}},
            "CDKMetadata": {"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "v2:deflate64:A"}},
        },
        "Outputs": {"QueueUrl": {"Value": {"Ref": "MainQueue"}}},
    }



def modified(template: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(template)


def write_assembly(directory: Path, stacks: dict[str, dict[str, Any]]) -> Path:
    """A cloud assembly shaped like `cdk synth '**'` writes it: one nested assembly per stage.

    `stacks` maps display names ("dev/Stateful") to templates; stack names follow the app's
    `file-search-<env>-<stack>` convention.
    """
    stages: dict[str, dict[str, Any]] = {}
    for display_name, template in stacks.items():
        stage, stack = display_name.split("/")
        stages.setdefault(stage, {})[stack] = template
    root = {"version": "55.0.0", "artifacts": {}}
    for stage, stage_stacks in stages.items():
        nested_dir = directory / f"assembly-{stage}"
        nested_dir.mkdir(parents=True)
        nested = {"version": "55.0.0", "artifacts": {}}
        for stack, template in stage_stacks.items():
            artifact_id = f"{stage}{stack}"
            (nested_dir / f"{artifact_id}.template.json").write_text(json.dumps(template))
            nested["artifacts"][artifact_id] = {
                "type": "aws:cloudformation:stack",
                "environment": "aws://unknown-account/unknown-region",
                "properties": {"templateFile": f"{artifact_id}.template.json",
                               "stackName": f"file-search-{stage}-{stack.lower()}"},
                "displayName": f"{stage}/{stack}",
            }
        (nested_dir / "manifest.json").write_text(json.dumps(nested))
        root["artifacts"][f"assembly-{stage}"] = {
            "type": "cdk:cloud-assembly",
            "properties": {"directoryName": f"assembly-{stage}", "displayName": stage},
        }
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "manifest.json").write_text(json.dumps(root))
    return directory
