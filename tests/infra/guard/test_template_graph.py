"""Resolution across templates: a queue is the same queue however an expression points at it."""

from __future__ import annotations

import json

from checks.notification_guard import find_duplicate_paths
from checks.notification_guard.template_graph import TemplateGraph
from tests.infra.guard.templates import arn_of, bucket, queue, queue_configuration, rule


def test_a_literal_queue_arn_is_matched_to_the_queue_by_name():
    templates = {
        "a.json": {"Resources": {"Q": queue("ingest-main"), "B": bucket(queue_configuration(arn_of("Q")))}},
        "b.json": {"Resources": {"R": rule(json.dumps({"source": ["aws.s3"]}),
                                           "arn:aws:sqs:eu-west-1:123456789012:ingest-main")}},
    }
    (violation,) = find_duplicate_paths(templates)
    assert len(violation.paths) == 2


def test_import_value_and_get_stack_output_lead_to_the_producer():
    producer = {"Resources": {"Q": queue()}, "Outputs": {
        "QueueArn": {"Value": arn_of("Q"), "Export": {"Name": "main-queue-arn"}}}}
    graph = TemplateGraph({"p.json": producer, "c.json": {"Resources": {}}}, {"Producer": "p.json"})
    assert graph.resolve({"Fn::ImportValue": "main-queue-arn"}, "c.json") == ("p.json", "Q")
    assert graph.resolve({"Fn::GetStackOutput": {"StackName": "Producer", "OutputName": "QueueArn"}},
                         "c.json") == ("p.json", "Q")


def test_unresolvable_targets_are_never_merged_into_a_false_duplicate():
    # (This used an Fn::If before the guard followed both branches; a mapping lookup is still opaque.)
    weird = {"Fn::FindInMap": ["Queues", {"Ref": "Env"}, "Arn"]}
    templates = {"a.json": {"Resources": {"B": bucket(queue_configuration(weird, "e"))}},
                 "b.json": {"Resources": {"B": bucket(queue_configuration(weird, "e"))}}}
    assert find_duplicate_paths(templates) == []
