"""The outputs `python -m ops` reads (contract/outputs.py) exist in every environment, and ops' reader
of the templates finds the declared state in each."""

from __future__ import annotations

from contract import declared
from contract.names import stack_name
from contract.outputs import CONTRACT, MAIN_QUEUE_URL
from environments import ENVIRONMENTS


def test_every_output_of_the_ops_contract_is_declared(synthesized, env):
    stack_ids = synthesized.stack_ids(env)
    for spec in CONTRACT:
        name = stack_name(env, spec.stack)
        assert name in stack_ids, f"{spec.key}: no stack {name}"
        outputs = synthesized.templates[env][stack_ids[name]].get("Outputs", {})
        assert spec.key in outputs, f"{name} lacks the output {spec.key}"
        assert outputs[spec.key]["Description"] == spec.description


def test_ops_reads_the_declared_state_of_every_environment(synthesized, env):
    state = declared.load(env, synthesized.outdir, synthesize=False)
    config = ENVIRONMENTS[env]
    assert [c.describe() for c in state.notification] == [
        f"s3:ObjectCreated:*,s3:ObjectRemoved:* prefix '{config.bucket.raw_prefix}' -> {declared.MAIN}"]
    assert state.eventbridge is False and state.rules == () and state.pipes == ()
    assert state.main_queue["VisibilityTimeout"] == config.queue.visibility_timeout_seconds
    assert state.main_queue["RedrivePolicy"] == {
        "deadLetterTargetArn": declared.DLQ, "maxReceiveCount": config.queue.max_receive_count}
    # ops reads DLQ messages (receive, then release) only because the DLQ has no redrive
    # policy: a raised receive count there can move nothing.
    assert "RedrivePolicy" not in state.dead_letter_queue
    for alarm in ("oldest-message-age", "received-not-deleted", "dlq-not-empty", "dlq-filling"):
        assert f"file-search-{env}-{alarm}" in state.alarm_thresholds



def test_a_rule_or_pipe_delivering_to_the_main_queue_is_declared_one_whose_pattern_names_it_is_not(
        synthesized):
    """The out-of-band change rules name the queue in their event pattern and deliver to SNS;
    a rule or pipe whose *target* is the queue is a second path (what drift compares)."""
    templates = synthesized.templates["dev"]
    main_id = templates["Stateful"]["Outputs"][MAIN_QUEUE_URL.key]["Value"]["Ref"]
    arn = {"Fn::GetAtt": [main_id, "Arn"]}
    second_path = {"Resources": {
        "Forward": {"Type": "AWS::Events::Rule", "Properties": {
            "EventPattern": {"source": ["aws.s3"]}, "Targets": [{"Arn": arn, "Id": "q"}]}},
        "Pipe": {"Type": "AWS::Pipes::Pipe", "Properties": {"Source": "x", "Target": arn}}}}
    state = declared.parse("dev", templates["Stateful"], templates["Monitoring"],
                           [*templates.values(), second_path])
    assert (state.rules, state.pipes) == (("Forward",), ("Pipe",))
