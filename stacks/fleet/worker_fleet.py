"""The Auto Scaling group of workers: launch template, least-privilege role, rollout, scaling."""

from __future__ import annotations

import math
from pathlib import Path

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from checks.nag import acknowledge, wildcard_resource_finding
from config import FleetConfig, QueueConfig
from stacks.fleet.worker_boot import BootSettings, boot_commands
from stacks.shared.cdk_values import retention_days

WORKER_ASSET_DIR = Path(__file__).resolve().parents[2] / "worker_asset"
LIFECYCLE_HOOK_NAME = "drain-worker"
# Actions Session Manager needs on the instance; none of them supports resource-level permissions.
SESSION_MANAGER_ACTIONS = [
    "ssm:UpdateInstanceInformation",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
    "ec2messages:AcknowledgeMessage",
    "ec2messages:DeleteMessage",
    "ec2messages:FailMessage",
    "ec2messages:GetEndpoint",
    "ec2messages:GetMessages",
    "ec2messages:SendReply",
]


class WorkerFleet(Construct):
    """Workers on Amazon Linux 2023 in isolated subnets, scaled on queue backlog per instance."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: FleetConfig,
        queue_settings: QueueConfig,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        main_queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
        raw_prefix: str,
        access_policies: list[iam.IManagedPolicy],
        search_endpoint_url: str,
        notification_topic: sns.ITopic,
        index_name: str,
        log_retention_days: int,
        removal_policy: RemovalPolicy,
        log_key: kms.IKey | None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        # A fixed name: the boot script and the role's lifecycle permission need it before the
        # group exists, and referencing the group from its own launch template would be a cycle.
        self.group_name = f"{stack.stack_name}-workers"

        self.log_group = logs.LogGroup(
            self, "WorkerLogs", retention=retention_days(log_retention_days),
            removal_policy=removal_policy, encryption_key=log_key,
        )
        self.asset = s3_assets.Asset(
            self, "WorkerCode", path=str(WORKER_ASSET_DIR),
            exclude=["**/__pycache__", "**/*.pyc", "README.md"],
        )

        self.role = iam.Role(
            self, "WorkerRole", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description="Ingest worker instances: consume the ingest queue, read raw files, index",
        )
        self._grant_instance_permissions()
        for policy in access_policies:
            self.role.add_managed_policy(policy)

        worker_environment = {
            "AWS_REGION": stack.region,
            "WORKER_QUEUE_URL": main_queue.queue_url,
            "WORKER_DLQ_URL": dead_letter_queue.queue_url,
            "WORKER_OPENSEARCH_ENDPOINT": search_endpoint_url,
            "WORKER_OPENSEARCH_INDEX": index_name,
            "WORKER_OPENSEARCH_AUTH": "sigv4",
            "WORKER_PREFIX": raw_prefix,
            "WORKER_MAX_OBJECT_BYTES": str(settings.max_object_bytes),
            "WORKER_VISIBILITY_TIMEOUT_SECONDS": str(queue_settings.visibility_timeout_seconds),
            "WORKER_WAIT_TIME_SECONDS": str(queue_settings.receive_wait_seconds),
            # Leaves the lifecycle hook 30 s to hear about the completed action.
            "WORKER_SHUTDOWN_TIMEOUT_SECONDS": str(settings.drain_timeout_seconds - 30),
            "WORKER_LIFECYCLE_HOOK_NAME": LIFECYCLE_HOOK_NAME,
            "WORKER_ASG_NAME": self.group_name,
            "WORKER_LOG_LEVEL": "INFO",
            # Every GetObject names the account that must own the raw bucket (confused deputy):
            # the bucket is in this environment's account, the one this stack deploys to.
            "WORKER_EXPECTED_BUCKET_OWNER": stack.account,
        }
        if settings.worker_concurrency is not None:
            worker_environment["WORKER_CONCURRENCY"] = str(settings.worker_concurrency)

        signals_wanted = settings.min_capacity >= 1
        user_data = ec2.UserData.for_linux()
        launch_template = ec2.LaunchTemplate(
            self, "LaunchTemplate",
            machine_image=ec2.MachineImage.latest_amazon_linux2023(),
            instance_type=ec2.InstanceType(settings.instance_type),
            role=self.role,
            security_group=security_group,
            user_data=user_data,
            require_imdsv2=True,
            http_put_response_hop_limit=1,
            detailed_monitoring=True,
            block_devices=[ec2.BlockDevice(
                device_name="/dev/xvda",
                volume=ec2.BlockDeviceVolume.ebs(
                    settings.root_volume_gib, encrypted=True,
                    volume_type=ec2.EbsDeviceVolumeType.GP3, delete_on_termination=True,
                ),
            )],
        )

        min_in_service = math.ceil(settings.min_capacity * settings.min_healthy_percentage / 100)
        self.group = autoscaling.AutoScalingGroup(
            self, "Group",
            auto_scaling_group_name=self.group_name,
            vpc=vpc,
            vpc_subnets=subnets,
            **_launch_settings(launch_template, settings),
            min_capacity=settings.min_capacity,
            max_capacity=settings.max_capacity,
            group_metrics=[autoscaling.GroupMetrics.all()],
            # Launch and termination errors reach the warning topic (launches and terminations
            # themselves are routine, but are sent too so the history is in one place).
            notifications=[autoscaling.NotificationConfiguration(topic=notification_topic)],
            health_checks=autoscaling.HealthChecks.ec2(grace_period=Duration.minutes(5)),
            signals=(
                autoscaling.Signals.wait_for_min_capacity(
                    timeout=Duration.minutes(settings.startup_timeout_minutes)
                )
                if signals_wanted else None
            ),
            # A new launch template version (new worker code, new AMI, new settings) replaces
            # instances batch by batch; each new instance must signal that its worker runs,
            # otherwise CloudFormation stops and rolls the update back.
            update_policy=autoscaling.UpdatePolicy.rolling_update(
                max_batch_size=settings.rollout_batch_size,
                min_instances_in_service=min(min_in_service, settings.max_capacity - 1),
                min_success_percentage=100,
                wait_on_resource_signals=signals_wanted,
                pause_time=Duration.minutes(settings.startup_timeout_minutes),
                suspend_processes=[
                    autoscaling.ScalingProcess.HEALTH_CHECK,
                    autoscaling.ScalingProcess.REPLACE_UNHEALTHY,
                    autoscaling.ScalingProcess.AZ_REBALANCE,
                    autoscaling.ScalingProcess.ALARM_NOTIFICATION,
                    autoscaling.ScalingProcess.SCHEDULED_ACTIONS,
                ],
            ),
        )
        self.group.add_lifecycle_hook(
            "DrainOnTerminate",
            lifecycle_hook_name=LIFECYCLE_HOOK_NAME,
            lifecycle_transition=autoscaling.LifecycleTransition.INSTANCE_TERMINATING,
            heartbeat_timeout=Duration.seconds(settings.drain_timeout_seconds),
            default_result=autoscaling.DefaultResult.CONTINUE,
        )
        cfn_group = self.group.node.default_child
        # The subnets come from the Network stack, so the template shows only their references;
        # naming their zones as well makes the spread over several AZs visible (CT.AUTOSCALING.PR.1)
        # and CloudFormation checks that every subnet lies in one of them.
        cfn_group.availability_zones = vpc.select_subnets(
            subnet_type=subnets.subnet_type).availability_zones
        user_data.add_commands(*boot_commands(BootSettings(
            asset_s3_url=self.asset.s3_object_url,
            region=stack.region,
            stack_name=stack.stack_name,
            signal_resource=cfn_group.logical_id if signals_wanted else None,
            log_group_name=self.log_group.log_group_name,
            worker_environment=worker_environment,
            stop_timeout_seconds=settings.drain_timeout_seconds - 15,
        )))
        self.role.add_to_policy(iam.PolicyStatement(
            sid="SignalRolloutResult",
            actions=["cloudformation:SignalResource"],
            resources=[self._own_stack_arn],
        ))

        self._scale_on_backlog_per_instance(main_queue, settings.backlog_per_instance_target)
        self._acknowledge_findings(settings)

    @property
    def _lifecycle_group_arn(self) -> str:
        return Stack.of(self).format_arn(
            service="autoscaling", resource="autoScalingGroup",
            resource_name=f"*:autoScalingGroupName/{self.group_name}",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    @property
    def _own_stack_arn(self) -> str:
        stack = Stack.of(self)
        return stack.format_arn(service="cloudformation", resource="stack",
                                resource_name=f"{stack.stack_name}/*")

    def _grant_instance_permissions(self) -> None:
        """What the instance itself needs; access to queues, files and index comes from the
        managed policies of the stacks that own them."""
        stack = Stack.of(self)
        statements = [
            iam.PolicyStatement(
                sid="DownloadWorkerCode",
                actions=["s3:GetObject"],
                resources=[f"arn:{stack.partition}:s3:::{self.asset.s3_bucket_name}/"
                           f"{self.asset.s3_object_key}"],
            ),
            iam.PolicyStatement(
                sid="ShipWorkerLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                # The group's ARN ends in ":*", which covers its log streams.
                resources=[self.log_group.log_group_arn],
            ),
            iam.PolicyStatement(
                sid="CompleteOwnLifecycleAction",
                actions=["autoscaling:CompleteLifecycleAction"],
                resources=[self._lifecycle_group_arn],
            ),
            iam.PolicyStatement(
                sid="SessionManager",
                actions=SESSION_MANAGER_ACTIONS,
                resources=["*"],
            ),
        ]
        for statement in statements:
            self.role.add_to_policy(statement)

    def _scale_on_backlog_per_instance(self, queue: sqs.IQueue, target: int) -> None:
        """Target tracking on visible messages ÷ in-service instances (AWS's SQS scaling recipe).

        The L2 scaling API rejects math expressions, hence the L1 policy. With no instance in
        service the expression falls back to the backlog itself, so a group at zero scales out.
        """
        policy = autoscaling.CfnScalingPolicy
        self.scaling_policy = policy(
            self, "BacklogPerInstance",
            auto_scaling_group_name=self.group.auto_scaling_group_name,
            policy_type="TargetTrackingScaling",
            estimated_instance_warmup=300,
            target_tracking_configuration=policy.TargetTrackingConfigurationProperty(
                target_value=float(target),
                customized_metric_specification=policy.CustomizedMetricSpecificationProperty(
                    metrics=[
                        _tracked_metric("visible", "AWS/SQS", "ApproximateNumberOfMessagesVisible",
                                        "Sum", QueueName=queue.queue_name),
                        _tracked_metric("in_service", "AWS/AutoScaling", "GroupInServiceInstances",
                                        "Average",
                                        AutoScalingGroupName=self.group.auto_scaling_group_name),
                        policy.TargetTrackingMetricDataQueryProperty(
                            id="backlog_per_instance", return_data=True,
                            label="Visible messages per in-service instance",
                            expression="IF(in_service > 0, visible / in_service, visible)",
                        ),
                    ],
                ),
            ),
        )

    def _acknowledge_findings(self, settings: FleetConfig) -> None:
        if settings.fallback_instance_types:
            acknowledge(
                self.group, "AwsSolutions-EC26",
                "The launch template's only volume is encrypted (tests pin it); cdk-nag's EC26 "
                "follows an Auto Scaling group's LaunchTemplate, not a MixedInstancesPolicy's.",
            )
        acknowledge(
            self.role, "AwsSolutions-IAM5[Resource::*]",
            "Session Manager's ssm:UpdateInstanceInformation, ssmmessages:* channel and "
            "ec2messages:* actions have no resource-level permissions; every action is listed.",
        )
        acknowledge(
            self.role, wildcard_resource_finding(self, self._lifecycle_group_arn),
            "The '*' is the group's UUID, unknown before creation; the ARN names this group only.",
        )
        acknowledge(
            self.role, wildcard_resource_finding(self, self._own_stack_arn),
            "The '*' is the stack's UUID; cfn-signal may signal this stack only.",
        )


def _launch_settings(launch_template: ec2.LaunchTemplate, settings: FleetConfig) -> dict:
    """The launch template alone, or with fallback types when the primary type has no capacity
    in an AZ (CT.AUTOSCALING.PR.6): on-demand only, tried in the configured order."""
    if not settings.fallback_instance_types:
        return {"launch_template": launch_template}
    types = (settings.instance_type, *settings.fallback_instance_types)
    return {"mixed_instances_policy": autoscaling.MixedInstancesPolicy(
        launch_template=launch_template,
        launch_template_overrides=[
            autoscaling.LaunchTemplateOverrides(instance_type=ec2.InstanceType(t)) for t in types],
        instances_distribution=autoscaling.InstancesDistribution(
            on_demand_allocation_strategy=autoscaling.OnDemandAllocationStrategy.PRIORITIZED,
            on_demand_percentage_above_base_capacity=100,
        ),
    )}


def _tracked_metric(
    query_id: str, namespace: str, metric_name: str, stat: str, **dimensions: str
) -> autoscaling.CfnScalingPolicy.TargetTrackingMetricDataQueryProperty:
    """One input of the target-tracking expression (not returned itself)."""
    policy = autoscaling.CfnScalingPolicy
    return policy.TargetTrackingMetricDataQueryProperty(
        id=query_id, return_data=False,
        metric_stat=policy.TargetTrackingMetricStatProperty(
            stat=stat,
            metric=policy.MetricProperty(
                namespace=namespace, metric_name=metric_name,
                dimensions=[policy.MetricDimensionProperty(name=k, value=v)
                            for k, v in dimensions.items()],
            ),
        ),
    )
