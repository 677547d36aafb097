"""One environment "deployed" on moto's server the way CloudFormation would deploy the
synthesized templates, for the ops tests: queues, bucket notification, fleet, log group,
alarms and search domain with the templates' values, and the stacks' outputs (contract/outputs.py).

The values are read straight from the templates here (not through ops), so a mistake in ops'
own template reader cannot be mirrored by the fixture.
"""

from __future__ import annotations

import datetime
import functools
import json
import uuid
from typing import Any

import boto3

from harness.worker_process import REGION
from tests.support.untraced import untraced

ACCOUNT = "123456789012"
INT_ATTRIBUTES = ("VisibilityTimeout", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
                  "DelaySeconds", "MaximumMessageSize")


def _resources(template: dict, kind: str) -> list[tuple[str, dict]]:
    return [(k, r.get("Properties", {})) for k, r in template["Resources"].items()
            if r["Type"] == kind]


@functools.cache
def _client(service: str, url: str) -> Any:
    """One client per service and endpoint for every environment of a test process: creating
    the nine clients took about a third of each environment's deployment (moto's state is reset
    between tests, a client keeps none)."""
    return boto3.client(service, endpoint_url=url, region_name=REGION)


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class LocalEnvironment:
    def __init__(self, *, url: str, env: str, templates: dict[str, dict], search_url: str) -> None:
        # Fixture code only (boto3 against moto, no project code), before each ops test: it
        # runs untraced (tests/support/untraced.py).
        with untraced():
            self._deploy(url=url, env=env, templates=templates, search_url=search_url)

    def _deploy(self, *, url: str, env: str, templates: dict[str, dict], search_url: str) -> None:
        self.url = url
        self.env = env
        self.sqs = _client("sqs", url)
        self.s3 = _client("s3", url)
        self.cfn = _client("cloudformation", url)
        self.asg = _client("autoscaling", url)
        self.ec2 = _client("ec2", url)
        self.logs = _client("logs", url)
        self.cloudwatch = _client("cloudwatch", url)
        self.events = _client("events", url)
        self.opensearch = _client("opensearch", url)
        suffix = uuid.uuid4().hex[:8]
        stateful, fleet = templates["Stateful"], templates["Fleet"]
        search, monitoring = templates["Search"], templates["Monitoring"]

        # Queues: the main queue is the one with a redrive policy, the DLQ is its target.
        queues = dict(_resources(stateful, "AWS::SQS::Queue"))
        (main_id, main_props), = [(k, p) for k, p in queues.items() if "RedrivePolicy" in p]
        dlq_id = main_props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        self.dlq_url = self.sqs.create_queue(
            QueueName=f"{env}-dlq-{suffix}", Attributes=self._queue_attributes(queues[dlq_id])
        )["QueueUrl"]
        self.dlq_arn = self.arn(self.dlq_url)
        main_attributes = self._queue_attributes(main_props)
        main_attributes["RedrivePolicy"] = json.dumps({
            "deadLetterTargetArn": self.dlq_arn,
            "maxReceiveCount": main_props["RedrivePolicy"]["maxReceiveCount"]})
        self.queue_url = self.sqs.create_queue(
            QueueName=main_props["QueueName"], Attributes=main_attributes)["QueueUrl"]
        self.queue_arn = self.arn(self.queue_url)

        # Bucket and its notification, as CDK's custom resource applies it.
        self.bucket = f"file-search-{env}-raw-{suffix}"
        self.s3.create_bucket(Bucket=self.bucket)
        (_, custom), = _resources(stateful, "Custom::S3BucketNotifications")
        self.declared_notification = json.loads(
            json.dumps(custom["NotificationConfiguration"]).replace(
                json.dumps({"Fn::GetAtt": [main_id, "Arn"]}), json.dumps(self.queue_arn)))
        self.s3.put_bucket_notification_configuration(
            Bucket=self.bucket, NotificationConfiguration=self.declared_notification)
        self.drain(self.queue_url)  # the s3:TestEvent S3 sends on configuration
        self.raw_prefix = stateful["Outputs"]["RawPrefix"]["Value"]

        # Fleet: the group's min/max from the template, scaled out to one instance.
        (_, group), = _resources(fleet, "AWS::AutoScaling::AutoScalingGroup")
        self.group_name = f"file-search-{env}-fleet-workers"
        # The tests' moto has no catalogue of public images (harness/moto.py): register the one
        # the fleet launches, as the deploy resolves AL2023's.
        ami = self.ec2.register_image(Name=f"al2023-worker-{suffix}", Architecture="x86_64",
                                      RootDeviceName="/dev/xvda",
                                      VirtualizationType="hvm")["ImageId"]
        self.ec2.create_launch_template(LaunchTemplateName=f"{env}-workers-{suffix}",
                                        LaunchTemplateData={"ImageId": ami,
                                                            "InstanceType": "t3.small"})
        self.min_size, self.max_size = int(group["MinSize"]), int(group["MaxSize"])
        self.desired = max(self.min_size, 1)
        self.asg.create_auto_scaling_group(
            AutoScalingGroupName=self.group_name,
            LaunchTemplate={"LaunchTemplateName": f"{env}-workers-{suffix}"},
            MinSize=self.min_size, MaxSize=self.max_size, DesiredCapacity=self.desired,
            AvailabilityZones=[f"{REGION}a"])

        self.log_group = f"/file-search/{env}/worker-{suffix}"
        self.logs.create_log_group(logGroupName=self.log_group)
        self.logs.create_log_stream(logGroupName=self.log_group, logStreamName="i-0123456789")

        self.alarm_names = []
        for _, alarm in _resources(monitoring, "AWS::CloudWatch::Alarm"):
            self.alarm_names.append(alarm["AlarmName"])
            self.cloudwatch.put_metric_alarm(
                AlarmName=alarm["AlarmName"], Namespace="AWS/SQS", MetricName="Stand-in",
                Statistic="Maximum", Period=60, EvaluationPeriods=1,
                Threshold=float(alarm["Threshold"]), ComparisonOperator=alarm["ComparisonOperator"])
        # A healthy environment: every alarm OK. moto creates alarms OK (AWS: INSUFFICIENT_DATA),
        # so one read usually finds nothing to set (27 calls fewer before each ops test).
        for found in self.cloudwatch.describe_alarms(AlarmNames=self.alarm_names)["MetricAlarms"]:
            if found["StateValue"] != "OK":
                self.cloudwatch.set_alarm_state(AlarmName=found["AlarmName"], StateValue="OK",
                                                StateReason="healthy")

        self.domain = f"fs-{env}-{suffix}"
        self.opensearch.create_domain(DomainName=self.domain, EngineVersion="OpenSearch_2.11")
        self.index = search["Outputs"]["SearchIndexName"]["Value"]

        self.outputs = {
            "stateful": {"MainQueueUrl": self.queue_url, "MainQueueArn": self.queue_arn,
                         "DeadLetterQueueUrl": self.dlq_url, "DeadLetterQueueArn": self.dlq_arn,
                         "RawBucketName": self.bucket, "RawPrefix": self.raw_prefix},
            "fleet": {"WorkerGroupName": self.group_name, "WorkerLogGroupName": self.log_group},
            "search": {"SearchDomainName": self.domain, "SearchEndpointUrl": search_url,
                       "SearchIndexName": self.index},
            "monitoring": {"AlarmNamePrefix": f"file-search-{env}-"},
        }
        for part, values in self.outputs.items():
            self.create_stack(part, values)

    def create_stack(self, part: str, values: dict[str, str]) -> None:
        # CloudFormation needs one resource; the outputs carry what ops reads.
        template = {"Resources": {"Placeholder": {"Type": "AWS::SSM::Parameter", "Properties": {
                        "Name": f"/ops-tests/{self.env}/{part}", "Type": "String", "Value": part}}},
                    "Outputs": {k: {"Value": v} for k, v in values.items()}}
        self.cfn.create_stack(StackName=f"file-search-{self.env}-{part}",
                              TemplateBody=json.dumps(template))

    @staticmethod
    def _queue_attributes(props: dict[str, Any]) -> dict[str, str]:
        return {k: str(props[k]) for k in INT_ATTRIBUTES if k in props}

    def arn(self, url: str) -> str:
        return self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]

    def attributes(self, url: str) -> dict[str, str]:
        return self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]

    def depth(self, url: str) -> int:
        a = self.attributes(url)
        return int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"])

    def drain(self, url: str) -> list[dict]:
        out = []
        while True:
            msgs = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                            MessageAttributeNames=["All"],
                                            MessageSystemAttributeNames=["All"]).get("Messages", [])
            if not msgs:
                return out
            out += msgs
            self.sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)])

    def peek_all(self, url: str) -> list[dict]:
        """Every message (received, then released): for asserting what a queue holds."""
        seen, receipts = {}, []
        while True:
            msgs = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                            VisibilityTimeout=30, MessageAttributeNames=["All"],
                                            MessageSystemAttributeNames=["All"]).get("Messages", [])
            if not msgs:
                break
            for m in msgs:
                seen[m["MessageId"]] = m
                receipts.append(m["ReceiptHandle"])
        for r in receipts:
            self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=r, VisibilityTimeout=0)
        return list(seen.values())

    def send_to_dlq(self, body: str, reason: str | None) -> None:
        attributes = {"reason": {"DataType": "String", "StringValue": reason}} if reason else {}
        self.sqs.send_message(QueueUrl=self.dlq_url, MessageBody=body, MessageAttributes=attributes)

    def log(self, *events: str) -> None:
        now = int(utc_now().timestamp() * 1000)
        self.logs.put_log_events(logGroupName=self.log_group, logStreamName="i-0123456789",
                                 logEvents=[{"timestamp": now + i, "message": json.dumps(
                                     {"event": e, "level": "ERROR", "msg": e})}
                                     for i, e in enumerate(events)])

    def metric(self, queue_url: str, name: str, points: list[tuple[int, float]]) -> None:
        """Datapoints `minutes ago -> value` for an AWS/SQS metric of the queue."""
        queue = queue_url.rsplit("/", 1)[-1]
        self.cloudwatch.put_metric_data(Namespace="AWS/SQS", MetricData=[
            {"MetricName": name, "Dimensions": [{"Name": "QueueName", "Value": queue}],
             "Timestamp": utc_now() - datetime.timedelta(minutes=ago), "Value": value}
            for ago, value in points])

    def break_like_the_incident(self) -> None:
        """The production incident's state: three queue configurations plus EventBridge and a
        rule forwarding S3 events to the queue, a 300 s visibility timeout, messages received
        again and again and never deleted (then dead-lettered), the DLQ growing, delete
        failures in the worker log, the backlog growing and aging, alarms firing."""
        prefix = {"Key": {"FilterRules": [{"Name": "prefix", "Value": self.raw_prefix}]}}
        self.s3.put_bucket_notification_configuration(Bucket=self.bucket, NotificationConfiguration={
            "QueueConfigurations": [
                self.declared_notification["QueueConfigurations"][0],
                {"QueueArn": self.queue_arn, "Events": ["s3:ObjectCreated:Put"], "Filter": prefix},
                {"QueueArn": self.queue_arn, "Events": ["s3:ObjectCreated:*"]},
            ],
            "EventBridgeConfiguration": {},
        })
        self.events.put_rule(Name="s3-raw-files-to-ingest",
                             EventPattern=json.dumps({"source": ["aws.s3"]}))
        self.events.put_targets(Rule="s3-raw-files-to-ingest",
                                Targets=[{"Id": "ingest", "Arn": self.queue_arn}])
        self.sqs.set_queue_attributes(QueueUrl=self.queue_url,
                                      Attributes={"VisibilityTimeout": "300"})
        self.drain(self.queue_url)  # the test event
        for i in range(3):
            self.s3.put_object(Bucket=self.bucket, Key=f"{self.raw_prefix}report-{i}.txt",
                               Body=b"quarterly report")
        # Received again and again, never deleted: the queue's redrive moves them to the DLQ.
        for _ in range(6):
            msgs = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                            WaitTimeSeconds=0).get("Messages", [])
            for m in msgs:
                self.sqs.change_message_visibility(QueueUrl=self.queue_url,
                                                   ReceiptHandle=m["ReceiptHandle"],
                                                   VisibilityTimeout=0)
        for i in range(3):  # duplicates of new uploads keep arriving
            self.s3.put_object(Bucket=self.bucket, Key=f"{self.raw_prefix}later-{i}.txt",
                               Body=b"later")
        for reason in ("object_missing", "object_missing", "index_rejected"):
            self.send_to_dlq(json.dumps({"Records": []}), reason)
        self.log("delete_failed", "delete_failed", "message_failed", "sent_to_dlq")
        self.metric(self.queue_url, "ApproximateNumberOfMessagesVisible", [(15, 2), (1, 40)])
        self.metric(self.queue_url, "ApproximateAgeOfOldestMessage", [(15, 60), (1, 1800)])
        self.metric(self.queue_url, "NumberOfMessagesReceived", [(5, 200)])
        self.metric(self.queue_url, "NumberOfMessagesDeleted", [(5, 20)])
        # The DLQ fills: 38 more than 5 to 10 min ago, out of 60 sent (the alarm: 20+ and > 5 %).
        self.metric(self.queue_url, "NumberOfMessagesSent", [(3, 60)])
        self.metric(self.dlq_url, "ApproximateNumberOfMessagesVisible", [(15, 1), (8, 2), (1, 40)])
        for short in ("received-not-deleted", "dlq-filling", "delete-failures"):
            self.cloudwatch.set_alarm_state(AlarmName=f"file-search-{self.env}-{short}",
                                            StateValue="ALARM", StateReason="incident")
