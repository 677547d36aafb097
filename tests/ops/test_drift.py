"""`ops drift`: what CloudFormation's drift detection cannot see (the notification is applied by
a custom resource), against the synthesized templates."""

from __future__ import annotations

import shutil

import pytest

from contract import ContractError, declared, synth


def test_no_drift_when_deployed_as_declared(deployed, ops):
    code, out = ops("drift")
    assert code == 0
    assert out.startswith("No drift in dev")


def test_the_incident_shows_every_difference(deployed, ops):
    deployed.break_like_the_incident()
    code, out = ops("drift")
    assert code == 1
    assert "DRIFT in dev: 5 difference(s)" in out
    assert "+ live:     s3:ObjectCreated:Put prefix 'raw-files/' -> main queue" in out
    assert "+ live:     s3:ObjectCreated:* no filter -> main queue" in out
    assert "EventBridge on the bucket:\n    - declared: off\n    + live:     on" in out
    assert "+ live:     default/s3-raw-files-to-ingest" in out
    assert "main queue VisibilityTimeout:\n    - declared: 900\n    + live:     300" in out


def test_a_missing_configuration_and_queue_attributes_are_drift(deployed, ops):
    deployed.s3.put_bucket_notification_configuration(Bucket=deployed.bucket,
                                                      NotificationConfiguration={})
    deployed.sqs.set_queue_attributes(QueueUrl=deployed.dlq_url,
                                      Attributes={"MessageRetentionPeriod": "86400"})
    code, out = ops("drift")
    assert code == 1
    assert ("- declared: s3:ObjectCreated:*,s3:ObjectRemoved:* prefix 'raw-files/' -> main queue\n"
            "    + live:     missing") in out
    assert "dead-letter queue MessageRetentionPeriod:\n    - declared: 1209600\n    + live:     86400" in out


def test_a_redrive_policy_to_another_queue_is_drift(deployed, ops):
    other = deployed.sqs.create_queue(QueueName="someone-elses-dlq")["QueueUrl"]
    deployed.sqs.set_queue_attributes(QueueUrl=deployed.queue_url, Attributes={
        "RedrivePolicy": f'{{"deadLetterTargetArn": "{deployed.arn(other)}", "maxReceiveCount": 5}}'})
    code, out = ops("drift")
    assert code == 1
    assert ("main queue RedrivePolicy:\n    - declared: maxReceiveCount 5 to the dead-letter queue\n"
            f"    + live:     maxReceiveCount 5 to the {deployed.arn(other)}") in out


def test_templates_are_synthesized_when_the_assembly_lacks_them(synthesized, tmp_path, monkeypatch):
    calls = []

    def fake_cdk(command, **_):
        calls.append(command)
        shutil.copytree(synthesized.outdir, tmp_path / "cdk.out")  # what `cdk synth` writes

        class Done:
            returncode, stdout, stderr = 0, "", ""
        return Done()

    monkeypatch.setattr(synth.subprocess, "run", fake_cdk)
    state = declared.load("staging", tmp_path / "cdk.out")
    assert calls == [[str(synth.CDK_BIN), "synth", "-c", "env=staging", "staging/*", "--quiet",
                      "--output", str(tmp_path / "cdk.out")]]
    assert [c.describe() for c in state.notification] == [
        "s3:ObjectCreated:*,s3:ObjectRemoved:* prefix 'raw-files/' -> main queue"]
    with pytest.raises(ContractError, match="has no templates for 'dev'"):
        declared.load("dev", tmp_path / "empty", synthesize=False)


def test_a_pipe_into_the_queue_is_drift_and_blocks_redrive(deployed, ops):
    import boto3

    from harness.worker_process import REGION

    source = deployed.sqs.create_queue(QueueName="somewhere-else")["QueueUrl"]
    boto3.client("pipes", endpoint_url=deployed.url, region_name=REGION).create_pipe(
        Name="forward-to-ingest", RoleArn="arn:aws:iam::123456789012:role/pipe",
        Source=deployed.arn(source), Target=deployed.queue_arn)
    code, out = ops("drift")
    assert code == 1
    assert ("EventBridge pipes targeting the main queue:\n    - declared: none\n"
            "    + live:     forward-to-ingest") in out
    deployed.send_to_dlq("{}", "object_missing")
    code, out = ops("redrive", "--yes")
    assert code == 2 and "EventBridge pipe forward-to-ingest targets the main queue" in out
