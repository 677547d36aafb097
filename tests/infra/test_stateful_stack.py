"""Every property of the ingestion core, in every environment."""

from __future__ import annotations

from aws_cdk.assertions import Match

from environments import ENVIRONMENTS
from tests.support.templates import only_resource, resources_of_type

FOURTEEN_DAYS = 14 * 24 * 3600


def raw_bucket(template: dict) -> tuple[str, dict]:
    return only_resource(template, "AWS::S3::Bucket",
                         lambda r: "LoggingConfiguration" in r["Properties"])


def access_log_bucket(template: dict) -> tuple[str, dict]:
    return only_resource(template, "AWS::S3::Bucket",
                         lambda r: "LoggingConfiguration" not in r["Properties"])


def default_encryption(bucket: dict) -> dict:
    (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    return rule


def main_queue(template: dict) -> tuple[str, dict]:
    return only_resource(template, "AWS::SQS::Queue", lambda r: "RedrivePolicy" in r["Properties"])


def dead_letter_queue(template: dict) -> tuple[str, dict]:
    return only_resource(template, "AWS::SQS::Queue", lambda r: "RedriveAllowPolicy" in r["Properties"])


def tls_only_statement():
    return Match.object_like({
        "Effect": "Deny",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    })


# --- the bucket -----------------------------------------------------------------------------

def test_raw_bucket_is_private_encrypted_versioned_and_logged(synthesized, env):
    template = synthesized.templates[env]["Stateful"]
    logs_id, _ = access_log_bucket(template)
    _, bucket = raw_bucket(template)
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True,
        "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    key_id, _ = only_resource(template, "AWS::KMS::Key",
                              lambda r: "raw files" in r["Properties"]["Description"])
    assert default_encryption(bucket) == {
        "BucketKeyEnabled": True,
        "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                          "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]}}}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": logs_id}
    rule = props["LifecycleConfiguration"]["Rules"][0]
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == \
        ENVIRONMENTS[env].bucket.noncurrent_version_expiration_days
    assert rule["Status"] == "Enabled"


def test_both_buckets_refuse_plain_http(synthesized, env):
    policies = resources_of_type(synthesized.templates[env]["Stateful"], "AWS::S3::BucketPolicy")
    assert len(policies) == 2
    for policy in policies.values():
        assert any(
            s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
        )


def test_access_log_bucket_is_private_versioned_sse_s3_and_expires_logs(synthesized, env):
    days = ENVIRONMENTS[env].bucket.access_log_expiration_days
    _, bucket = access_log_bucket(synthesized.templates[env]["Stateful"])
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True
    # Server access logging delivers only into SSE-S3 buckets.
    assert default_encryption(bucket) == {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == days
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": days}


def test_workers_decrypt_raw_files_only_through_s3(synthesized, env):
    template = synthesized.templates[env]["Stateful"]
    key_id, _ = only_resource(template, "AWS::KMS::Key",
                              lambda r: "raw files" in r["Properties"]["Description"])
    _, policy = only_resource(template, "AWS::IAM::ManagedPolicy")
    (statement,) = [s for s in policy["Properties"]["PolicyDocument"]["Statement"]
                    if s["Action"] == "kms:Decrypt"]
    assert statement["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert statement["Condition"] == {"StringEquals": {"kms:ViaService": {
        "Fn::Join": ["", ["s3.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}}}
    # Uploaders need the key too: its ARN is an output of the stack.
    assert template["Outputs"]["RawFilesKeyArn"]["Value"] == {"Fn::GetAtt": [key_id, "Arn"]}


# --- exactly one notification path -------------------------------------------------------------

def test_exactly_one_queue_notification_for_new_and_removed_objects_under_the_prefix(synthesized, env):
    template = synthesized.templates[env]["Stateful"]
    bucket_id, _ = raw_bucket(template)
    queue_id, _ = main_queue(template)
    _, notifications = only_resource(template, "Custom::S3BucketNotifications")
    props = notifications["Properties"]
    assert props["BucketName"] == {"Ref": bucket_id}
    assert props["Managed"] is True, "CDK must own (and so overwrite) the whole configuration"
    config = props["NotificationConfiguration"]
    assert set(config) == {"QueueConfigurations"}, "no EventBridge, topic or Lambda configuration"
    assert config["QueueConfigurations"] == [{
        "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "raw-files/"}]}},
        "QueueArn": {"Fn::GetAtt": [queue_id, "Arn"]},
    }]


def test_no_eventbridge_path_anywhere_in_the_environment(synthesized, env):
    """No pipe, no EventBridge on a bucket that notifies anything (only the access-log bucket
    sends its events to EventBridge, for the access-logs-deleted rule), and the only rules (the
    Monitoring stack's change rules) deliver to the Alerts stack's topics, never to a queue."""
    templates = synthesized.templates[env]
    for stack, template in templates.items():
        for logical_id, resource in template["Resources"].items():
            assert resource["Type"] != "AWS::Pipes::Pipe", stack
            config = resource.get("Properties", {}).get("NotificationConfiguration", {})
            if "EventBridgeConfiguration" in config:
                assert (stack, logical_id.startswith("RawFilesAccessLogs")) == ("Stateful", True)
                assert config == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
            if resource["Type"] == "AWS::Events::Rule":
                assert stack == "Monitoring"
                for target in resource["Properties"]["Targets"]:
                    output = target["Arn"]["Fn::GetStackOutput"]
                    assert output["StackName"] == f"file-search-{env}-alerts"
                    ref = templates["Alerts"]["Outputs"][output["OutputName"]]["Value"]["Ref"]
                    assert templates["Alerts"]["Resources"][ref]["Type"] == "AWS::SNS::Topic"


def test_only_this_bucket_may_send_to_the_main_queue(synthesized, env):
    bucket_id, _ = raw_bucket(synthesized.templates[env]["Stateful"])
    queue_id, _ = main_queue(synthesized.templates[env]["Stateful"])
    synthesized.template(env, "Stateful").has_resource_properties("AWS::SQS::QueuePolicy", {
        "Queues": [{"Ref": queue_id}],
        "PolicyDocument": {"Statement": Match.array_with([
            tls_only_statement(),
            Match.object_like({
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": Match.array_with(["sqs:SendMessage"]),
                "Condition": {"ArnLike": {"aws:SourceArn": {"Fn::GetAtt": [bucket_id, "Arn"]}}},
            }),
        ])},
    })


# --- the queues ---------------------------------------------------------------------------------

def test_main_queue_outlasts_the_longest_job_and_redrives_to_the_dlq(synthesized, env):
    template = synthesized.templates[env]["Stateful"]
    dlq_id, _ = dead_letter_queue(template)
    _, queue = main_queue(template)
    props = queue["Properties"]
    settings = ENVIRONMENTS[env].queue
    assert props["VisibilityTimeout"] == 900 == settings.visibility_timeout_seconds
    assert props["ReceiveMessageWaitTimeSeconds"] == 20
    assert props["MessageRetentionPeriod"] == settings.retention_days * 86400
    assert props["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": settings.max_receive_count,
    }
    assert settings.max_receive_count == 5
    assert props["KmsMasterKeyId"] == {"Fn::GetAtt": [queue_key(template)[0], "Arn"]}
    assert "SqsManagedSseEnabled" not in props


def queue_key(template: dict) -> tuple[str, dict]:
    return only_resource(template, "AWS::KMS::Key",
                         lambda r: "ingest queues" in r["Properties"]["Description"])


def test_the_queues_key_lets_s3_deliver_and_the_workers_read_only_through_sqs(synthesized, env):
    """Both queues under a customer-managed key of their own (not the raw files' key: CDK's
    statement for S3 names the bucket, whose encryption names that key, a cycle). S3 may use it
    to deliver (S3 cannot use alias/aws/sqs); the workers only through SQS."""
    template = synthesized.templates[env]["Stateful"]
    key_id, key = queue_key(template)
    assert key["Properties"]["EnableKeyRotation"] is True
    s3_statements = [s for s in key["Properties"]["KeyPolicy"]["Statement"]
                     if s.get("Principal") == {"Service": "s3.amazonaws.com"}]
    assert s3_statements and all({"kms:GenerateDataKey*", "kms:Decrypt"} <= set(s["Action"])
                                 for s in s3_statements)
    bucket_id, _ = raw_bucket(template)
    assert {"ArnLike": {"aws:SourceArn": {"Fn::GetAtt": [bucket_id, "Arn"]}}} in [
        s.get("Condition") for s in s3_statements]
    _, policy = only_resource(template, "AWS::IAM::ManagedPolicy")
    (statement,) = [s for s in policy["Properties"]["PolicyDocument"]["Statement"]
                    if s.get("Sid") == "UseQueueKeyThroughSqs"]
    assert statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert statement["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert statement["Condition"] == {"StringEquals": {"kms:ViaService": {
        "Fn::Join": ["", ["sqs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}}}


def test_dlq_keeps_messages_14_days_and_admits_only_the_main_queue(synthesized, env):
    template = synthesized.templates[env]["Stateful"]
    _, dlq = dead_letter_queue(template)
    _, queue = main_queue(template)
    props = dlq["Properties"]
    assert props["MessageRetentionPeriod"] == FOURTEEN_DAYS
    assert props["MessageRetentionPeriod"] > queue["Properties"]["MessageRetentionPeriod"]
    assert props["KmsMasterKeyId"] == {"Fn::GetAtt": [queue_key(template)[0], "Arn"]}
    allow = props["RedriveAllowPolicy"]
    assert allow["redrivePermission"] == "byQueue"
    (source_arn,) = allow["sourceQueueArns"]
    joined = "".join(p if isinstance(p, str) else "*" for p in source_arn["Fn::Join"][1])
    assert joined == f"arn:*:sqs:*:*:{queue['Properties']['QueueName']}"


def test_both_queues_refuse_plain_http(synthesized, env):
    queues = synthesized.templates[env]["Stateful"]
    template = synthesized.template(env, "Stateful")
    for queue_id in (main_queue(queues)[0], dead_letter_queue(queues)[0]):
        template.has_resource_properties("AWS::SQS::QueuePolicy", {
            "Queues": [{"Ref": queue_id}],
            "PolicyDocument": {"Statement": Match.array_with([tls_only_statement()])},
        })


# --- lifecycle of stateful resources --------------------------------------------------------------

def test_removal_policy_and_termination_protection_follow_the_config(synthesized, env):
    config = ENVIRONMENTS[env]
    template = synthesized.templates[env]["Stateful"]
    expected = "Retain" if env in ("staging", "prod") else "Delete"
    for kind in ("AWS::S3::Bucket", "AWS::SQS::Queue"):
        for logical_id, resource in resources_of_type(template, kind).items():
            assert resource["DeletionPolicy"] == expected, logical_id
            assert resource["UpdateReplacePolicy"] == expected, logical_id
    stack = synthesized.stacks[env]["Stateful"]
    assert stack.termination_protection is config.termination_protection
    if env == "prod":
        assert stack.termination_protection is True


# Renaming one of these replaces the resource: a new, empty bucket or queue, and the old one
# orphaned or deleted. Change this list only together with a migration plan.
STATEFUL_LOGICAL_IDS = {
    ("Stateful", "AWS::S3::Bucket"): {"RawFilesBucket49AA96EA", "RawFilesAccessLogsAC27EF53"},
    ("Stateful", "AWS::SQS::Queue"): {"IngestQueuesMainQueueC8D6C585", "IngestQueuesDeadLetterQueue1746B736"},
    ("Search", "AWS::OpenSearchService::Domain"): {"SearchDomain62FD613E"},
}


def test_logical_ids_of_stateful_resources_never_change(synthesized, env):
    for (stack, kind), expected in STATEFUL_LOGICAL_IDS.items():
        assert set(resources_of_type(synthesized.templates[env][stack], kind)) == expected
