"""The outputs `python -m ops` reads (ops/outputs.py) exist in every environment, and ops' reader
of the templates finds the declared state in each."""

from __future__ import annotations

from aws_cdk import Stack

from environments import ENVIRONMENTS
from ops import declared
from ops.outputs import CONTRACT, stack_name


def test_every_output_of_the_ops_contract_is_declared(synthesized, env):
    stacks = {s.stack_name: s for s in synthesized.stages[env].node.children if isinstance(s, Stack)}
    for spec in CONTRACT:
        name = stack_name(env, spec.stack)
        assert name in stacks, f"{spec.key}: no stack {name}"
        outputs = synthesized.templates[env][stacks[name].node.id].get("Outputs", {})
        assert spec.key in outputs, f"{name} lacks the output {spec.key}"
        assert outputs[spec.key]["Description"] == spec.description


def test_ops_reads_the_declared_state_of_every_environment(synthesized, env):
    state = declared.load(env, synthesized.outdir, synthesize=False)
    config = ENVIRONMENTS[env]
    assert [c.describe() for c in state.notification] == [
        f"s3:ObjectCreated:* prefix '{config.bucket.raw_prefix}' -> {declared.MAIN}"]
    assert state.eventbridge is False and state.rules == () and state.pipes == ()
    assert state.main_queue["VisibilityTimeout"] == config.queue.visibility_timeout_seconds
    assert state.main_queue["RedrivePolicy"] == {
        "deadLetterTargetArn": declared.DLQ, "maxReceiveCount": config.queue.max_receive_count}
    # ops reads DLQ messages (receive, then release) only because the DLQ has no redrive
    # policy: a raised receive count there can move nothing.
    assert "RedrivePolicy" not in state.dead_letter_queue
    for alarm in ("oldest-message-age", "received-not-deleted", "dlq-not-empty", "dlq-filling"):
        assert f"file-search-{env}-{alarm}" in state.alarm_thresholds

