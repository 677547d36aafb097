"""What `make local` builds is read from the synthesized dev templates, not repeated by hand."""

from __future__ import annotations

import copy
import json

import pytest

from local.dev_templates import (
    WORKER_ENV_REPLACED,
    TemplateError,
    ensure_synthesized,
    notification_configuration,
    read_local_spec,
)
from tests.ci.helpers import write_assembly
from tests.support.worker_env import worker_env_vars


def stateful_template(dev_assembly) -> dict:
    manifest = json.loads((dev_assembly / "assembly-dev" / "manifest.json").read_text())
    artifact = next(a for a in manifest["artifacts"].values() if a.get("displayName") == "dev/Stateful")
    return json.loads((dev_assembly / "assembly-dev" / artifact["properties"]["templateFile"]).read_text())


def test_queues_bucket_and_notification_come_from_the_dev_stateful_template(dev_assembly):
    template = stateful_template(dev_assembly)
    spec = read_local_spec(dev_assembly)
    main = template["Resources"][spec.main_queue.logical_id]["Properties"]
    dlq = template["Resources"][spec.dead_letter_queue.logical_id]["Properties"]
    assert spec.main_queue.attributes == {
        "VisibilityTimeout": str(main["VisibilityTimeout"]),
        "ReceiveMessageWaitTimeSeconds": str(main["ReceiveMessageWaitTimeSeconds"]),
        "MessageRetentionPeriod": str(main["MessageRetentionPeriod"]),
    }
    assert spec.main_queue.max_receive_count == main["RedrivePolicy"]["maxReceiveCount"]
    assert spec.dead_letter_queue.attributes == {"MessageRetentionPeriod": str(dlq["MessageRetentionPeriod"])}
    # The values the incident's fix depends on, as dev declares them today.
    assert spec.main_queue.attributes["VisibilityTimeout"] == "900"
    assert spec.notification_events == ("s3:ObjectCreated:*", "s3:ObjectRemoved:*")
    assert spec.prefix == "raw-files/"
    assert spec.versioned
    configuration = notification_configuration(spec, "arn:aws:sqs:us-east-1:123456789012:main")
    assert configuration == {"QueueConfigurations": [{
        "QueueArn": "arn:aws:sqs:us-east-1:123456789012:main",
        "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "raw-files/"}]}}}]}


def test_worker_settings_come_from_the_fleet_template_and_the_pipeline_fills_the_rest(dev_assembly):
    spec = read_local_spec(dev_assembly)
    declared = worker_env_vars()
    assert set(spec.worker_environment) <= set(declared)
    assert not set(spec.worker_environment) & WORKER_ENV_REPLACED
    # With what the pipeline sets itself, every required variable is there.
    assert {name for name, required in declared.items() if required} <= (
        set(spec.worker_environment) | WORKER_ENV_REPLACED)
    assert WORKER_ENV_REPLACED <= set(declared)
    assert spec.worker_environment["WORKER_VISIBILITY_TIMEOUT_SECONDS"] == \
        spec.main_queue.attributes["VisibilityTimeout"]
    assert spec.worker_environment["WORKER_PREFIX"] == spec.prefix


def edited_assembly(tmp_path, dev_assembly, edit) -> object:
    template = copy.deepcopy(stateful_template(dev_assembly))
    edit(template["Resources"])
    return write_assembly(tmp_path / "edited", {"dev/Stateful": template})


def test_a_second_queue_configuration_is_refused(tmp_path, dev_assembly):
    def add_second(resources):
        notification = next(r for r in resources.values() if r["Type"] == "Custom::S3BucketNotifications")
        configurations = notification["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
        configurations.append(copy.deepcopy(configurations[0]))

    with pytest.raises(TemplateError, match="expected exactly one QueueConfiguration to the main "
                                            "queue IngestQueuesMainQueue.*, found 2"):
        read_local_spec(edited_assembly(tmp_path, dev_assembly, add_second))


def test_a_main_queue_without_redrive_is_refused(tmp_path, dev_assembly):
    def drop_redrive(resources):
        for resource in resources.values():
            resource.get("Properties", {}).pop("RedrivePolicy", None)

    with pytest.raises(TemplateError, match=r"the main queue IngestQueuesMainQueue\w* has no RedrivePolicy"):
        read_local_spec(edited_assembly(tmp_path, dev_assembly, drop_redrive))


def test_an_assembly_without_dev_is_named(tmp_path):
    assembly = write_assembly(tmp_path / "prod-only", {"prod/Stateful": {"Resources": {}}})
    with pytest.raises(TemplateError, match="has no dev/Stateful stack"):
        read_local_spec(assembly)


def test_an_assembly_without_dev_templates_is_synthesized_with_the_cdk_cli(tmp_path, capsys):
    assembly = tmp_path / "cdk.out"
    ensure_synthesized(assembly)
    assert "has no dev templates: synthesizing (synth -c env=dev dev/*" in capsys.readouterr().err
    assert read_local_spec(assembly).main_queue.attributes["VisibilityTimeout"] == "900"
    ensure_synthesized(assembly)  # now there: nothing to do
    assert capsys.readouterr().err == ""
