"""The incident, replayed: diagnose -> pause --stop-notifications -> fix -> drift clean ->
redrive -> resume, with every intermediate state checked."""

from __future__ import annotations

from tests.ops.test_pause_resume import group, sizes, suspended


def test_the_incident_from_diagnosis_to_resume(deployed, ops, tmp_path):
    deployed.break_like_the_incident()
    before = group(deployed)

    code, out = ops("diagnose")
    assert code == 1
    assert "FAIL notification" in out and "FAIL eventbridge-targets" in out
    assert "FAIL queue-attributes" in out

    code, out = ops("redrive", "--yes")  # not yet: it would repeat the incident
    assert code == 2 and "refusing to redrive" in out

    code, out = ops("pause", "--stop-notifications", "--yes", "--archive-dir", str(tmp_path))
    assert code == 0, out
    assert sizes(group(deployed)) == (0, 0, deployed.max_size)
    code, out = ops("diagnose")
    assert "paused by ops since" in out and "rules disabled: default/s3-raw-files-to-ingest" in out

    # The fix: delete the rule, put the visibility back.
    deployed.events.remove_targets(Rule="s3-raw-files-to-ingest", Ids=["ingest"])
    deployed.events.delete_rule(Name="s3-raw-files-to-ingest")
    deployed.sqs.set_queue_attributes(QueueUrl=deployed.queue_url,
                                      Attributes={"VisibilityTimeout": "900"})

    code, out = ops("drift")
    assert code == 0, out
    assert "note: the fleet is paused by ops" in out and "removed by the pause" in out

    dlq_before = deployed.depth(deployed.dlq_url)
    main_before = deployed.depth(deployed.queue_url)
    code, out = ops("redrive", "--yes", "--rate", "500")
    assert code == 0, out
    assert "note: the fleet is paused by ops" in out
    # object_missing x2 are poison and stay; the rest moved.
    assert deployed.depth(deployed.dlq_url) == 2
    assert deployed.depth(deployed.queue_url) == main_before + dlq_before - 2

    code, out = ops("resume", "--yes")
    assert code == 0, out
    assert "Rule default/s3-raw-files-to-ingest was deleted during the pause" in out
    after = group(deployed)
    assert sizes(after) == sizes(before) and suspended(after) == suspended(before)
    assert after["Tags"] == []
    code, out = ops("drift")
    assert code == 0, out
    assert "note:" not in out
