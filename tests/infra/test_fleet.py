"""Network, search domain and worker fleet, in every environment."""

from __future__ import annotations

import re

from aws_cdk.assertions import Match

from environments import ENVIRONMENTS
from pipeline_constructs.worker_network import INTERFACE_ENDPOINTS

ANYWHERE = ("0.0.0.0/0", "::/0")


def resources(synthesized, env, kind):
    return {(stack, lid): r for stack, t in synthesized.templates[env].items()
            for lid, r in t["Resources"].items() if r["Type"] == kind}


def only(found: dict):
    assert len(found) == 1, list(found)
    return next(iter(found.values()))


def user_data_text(synthesized, env) -> str:
    template = only(resources(synthesized, env, "AWS::EC2::LaunchTemplate"))
    joined = template["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else "<token>" for p in joined)


# --- network ---------------------------------------------------------------------------------

def test_no_nat_no_internet_gateway_only_isolated_subnets(synthesized, env):
    for kind in ("AWS::EC2::NatGateway", "AWS::EC2::InternetGateway", "AWS::EC2::EgressOnlyInternetGateway"):
        assert resources(synthesized, env, kind) == {}, kind
    for route in resources(synthesized, env, "AWS::EC2::Route").values():
        assert route["Properties"].get("DestinationCidrBlock") not in ANYWHERE
    subnets = resources(synthesized, env, "AWS::EC2::Subnet")
    assert len(subnets) == 2
    for subnet in subnets.values():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False


def test_flow_logs_go_to_a_log_group_with_retention(synthesized, env):
    flow_log = only(resources(synthesized, env, "AWS::EC2::FlowLog"))
    assert flow_log["Properties"]["LogDestinationType"] == "cloud-watch-logs"
    template = synthesized.template(env, "Network")
    template.has_resource_properties("AWS::Logs::LogGroup", {
        "RetentionInDays": ENVIRONMENTS[env].network.flow_log_retention_days})


def test_interface_endpoints_for_every_api_the_instances_call(synthesized, env):
    endpoints = resources(synthesized, env, "AWS::EC2::VPCEndpoint")
    interface = [e["Properties"] for e in endpoints.values() if e["Properties"].get("VpcEndpointType") == "Interface"]
    services = set()
    for props in interface:
        assert props["PrivateDnsEnabled"] is True
        assert len(props["SecurityGroupIds"]) == 1
        name = props["ServiceName"]
        services.add(name if isinstance(name, str) else "".join(p if isinstance(p, str) else "" for p in name["Fn::Join"][1]))
    suffixes = {s.rsplit(".", 1)[-1] for s in services}
    assert suffixes == {"sqs", "logs", "monitoring", "ssm", "ssmmessages", "ec2messages", "autoscaling",
                        "cloudformation"}
    assert len(interface) == len(INTERFACE_ENDPOINTS)


def test_s3_gateway_endpoint_only_reads_what_the_fleet_needs(synthesized, env):
    endpoints = resources(synthesized, env, "AWS::EC2::VPCEndpoint")
    (gateway,) = [e["Properties"] for e in endpoints.values() if e["Properties"].get("VpcEndpointType") == "Gateway"]
    (statement,) = gateway["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    rendered = [r if isinstance(r, str) else "".join(p if isinstance(p, str) else "<token>" for p in r["Fn::Join"][1])
                for r in statement["Resource"]]
    assert sum(r.endswith("/raw-files/*") for r in rendered) == 1
    assert any(re.search(r":s3:::cdk-hnb659fds-assets-<token>-<token>/\*$", r) for r in rendered)
    assert any(re.search(r":s3:::al2023-repos-<token>-de612dc2/\*$", r) for r in rendered)
    assert len(rendered) == 3


def test_no_security_group_admits_the_internet(synthesized, env):
    for sg in resources(synthesized, env, "AWS::EC2::SecurityGroup").values():
        for rule in sg["Properties"].get("SecurityGroupIngress", []):
            assert rule.get("CidrIp") not in ANYWHERE and rule.get("CidrIpv6") not in ANYWHERE
    for rule in resources(synthesized, env, "AWS::EC2::SecurityGroupIngress").values():
        props = rule["Properties"]
        assert props.get("CidrIp") not in ANYWHERE
        assert "SourceSecurityGroupId" in props
        assert (props["FromPort"], props["ToPort"], props["IpProtocol"]) == (443, 443, "tcp")


def test_workers_have_no_ingress_and_only_https_egress(synthesized, env):
    template = synthesized.template(env, "Network")
    (sg,) = [r for r in template.find_resources("AWS::EC2::SecurityGroup").values()
             if r["Properties"]["GroupDescription"].startswith("Ingest workers")]
    assert "SecurityGroupIngress" not in sg["Properties"]
    assert sg["Properties"]["SecurityGroupEgress"] == [
        {"CidrIp": "0.0.0.0/0", "Description": "HTTPS to AWS APIs", "FromPort": 443, "IpProtocol": "tcp", "ToPort": 443}]


# --- instances ---------------------------------------------------------------------------------

def test_launch_template_hardening(synthesized, env):
    data = only(resources(synthesized, env, "AWS::EC2::LaunchTemplate"))["Properties"]["LaunchTemplateData"]
    fleet = ENVIRONMENTS[env].fleet
    assert data["MetadataOptions"] == {"HttpTokens": "required", "HttpPutResponseHopLimit": 1}
    assert data["BlockDeviceMappings"] == [{"DeviceName": "/dev/xvda", "Ebs": {
        "DeleteOnTermination": True, "Encrypted": True, "VolumeSize": fleet.root_volume_gib, "VolumeType": "gp3"}}]
    assert "KeyName" not in data
    assert data["Monitoring"] == {"Enabled": True}
    assert data["InstanceType"] == fleet.instance_type
    assert "al2023" in data["ImageId"]["Ref"].lower(), "AMI from the AL2023 SSM parameter at deploy time"


def test_group_size_metrics_notifications_and_rollout(synthesized, env):
    fleet = ENVIRONMENTS[env].fleet
    (group,) = resources(synthesized, env, "AWS::AutoScaling::AutoScalingGroup").values()
    props = group["Properties"]
    assert props["AutoScalingGroupName"] == f"file-search-{env}-fleet-workers"
    assert (props["MinSize"], props["MaxSize"]) == (str(fleet.min_capacity), str(fleet.max_capacity))
    assert props["MetricsCollection"] == [{"Granularity": "1Minute"}]
    assert "autoscaling:EC2_INSTANCE_LAUNCH_ERROR" in props["NotificationConfigurations"][0]["NotificationTypes"]
    rolling = group["UpdatePolicy"]["AutoScalingRollingUpdate"]
    assert rolling["MaxBatchSize"] == fleet.rollout_batch_size
    assert rolling["MinInstancesInService"] == -(-fleet.min_capacity * fleet.min_healthy_percentage // 100)
    assert rolling["MinSuccessfulInstancesPercent"] == 100
    if fleet.min_capacity >= 1:
        # Each new instance must report that its worker runs, or the update rolls back.
        assert rolling["WaitOnResourceSignals"] is True
        assert group["CreationPolicy"]["ResourceSignal"]["Count"] == fleet.min_capacity
        assert "/opt/aws/bin/cfn-signal" in user_data_text(synthesized, env)
    else:
        assert "WaitOnResourceSignals" not in rolling


def test_prod_keeps_every_instance_in_service_during_a_rollout():
    prod = ENVIRONMENTS["prod"].fleet
    assert prod.min_healthy_percentage == 100 and prod.min_capacity >= 2


def test_termination_hook_gives_the_worker_time_to_drain(synthesized, env):
    hook = only(resources(synthesized, env, "AWS::AutoScaling::LifecycleHook"))["Properties"]
    assert hook["LifecycleTransition"] == "autoscaling:EC2_INSTANCE_TERMINATING"
    assert hook["LifecycleHookName"] == "drain-worker"
    assert hook["HeartbeatTimeout"] == ENVIRONMENTS[env].fleet.drain_timeout_seconds
    assert hook["DefaultResult"] == "CONTINUE"
    text = user_data_text(synthesized, env)
    assert "WORKER_LIFECYCLE_HOOK_NAME=drain-worker" in text
    assert f"WORKER_ASG_NAME=file-search-{env}-fleet-workers" in text
    assert "autoscaling/target-lifecycle-state" in text


def test_scaling_tracks_backlog_per_in_service_instance(synthesized, env):
    policy = only(resources(synthesized, env, "AWS::AutoScaling::ScalingPolicy"))["Properties"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    config = policy["TargetTrackingConfiguration"]
    assert config["TargetValue"] == ENVIRONMENTS[env].fleet.backlog_per_instance_target
    metrics = {m["Id"]: m for m in config["CustomizedMetricSpecification"]["Metrics"]}
    visible = metrics["visible"]["MetricStat"]
    assert visible["Metric"]["Namespace"] == "AWS/SQS"
    assert visible["Metric"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert visible["Metric"]["Dimensions"][0]["Name"] == "QueueName"
    in_service = metrics["in_service"]["MetricStat"]
    assert in_service["Metric"]["MetricName"] == "GroupInServiceInstances"
    ((_, group_id),) = resources(synthesized, env, "AWS::AutoScaling::AutoScalingGroup")
    assert in_service["Metric"]["Dimensions"] == [{"Name": "AutoScalingGroupName", "Value": {"Ref": group_id}}]
    result = metrics["backlog_per_instance"]
    assert result["Expression"] == "IF(in_service > 0, visible / in_service, visible)"
    assert result["ReturnData"] is True
    assert [m.get("ReturnData", True) for m in metrics.values()].count(True) == 1


# --- least privilege -------------------------------------------------------------------------

def worker_permissions(synthesized, env) -> dict[tuple[str, ...], list]:
    """Every statement that reaches the worker role: (actions) -> resources."""
    statements = []
    for (stack, _), policy in resources(synthesized, env, "AWS::IAM::Policy").items():
        if stack == "Fleet" and "WorkerRole" in str(policy["Properties"]["Roles"]):
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    (role,) = [r for (stack, lid), r in resources(synthesized, env, "AWS::IAM::Role").items() if stack == "Fleet"]
    attached = role["Properties"]["ManagedPolicyArns"]
    assert len(attached) == 2, "the ingest-consumer and search-writer policies, no AWS managed policy"
    for (stack, _), policy in resources(synthesized, env, "AWS::IAM::ManagedPolicy").items():
        if stack in ("Stateful", "Search"):
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    found = {}
    for s in statements:
        assert s["Effect"] == "Allow"
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        for action in actions:
            assert "*" not in action, f"wildcard action {action}"
        found[tuple(sorted(actions))] = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
    return found


def test_worker_role_has_exactly_these_permissions(synthesized, env):
    found = worker_permissions(synthesized, env)
    assert set(found) == {
        ("sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"),
        ("sqs:SendMessage",),
        ("s3:GetObject", "s3:GetObjectVersion"),
        ("s3:GetObject",),
        ("es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut"),
        ("logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"),
        ("autoscaling:CompleteLifecycleAction",),
        ("cloudformation:SignalResource",),
        tuple(sorted([
            "ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
            "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel", "ec2messages:AcknowledgeMessage",
            "ec2messages:DeleteMessage", "ec2messages:FailMessage", "ec2messages:GetEndpoint",
            "ec2messages:GetMessages", "ec2messages:SendReply"])),
    }


def test_worker_role_resources_are_scoped(synthesized, env):
    found = worker_permissions(synthesized, env)
    stateful = synthesized.template(env, "Stateful").find_resources("AWS::SQS::Queue")
    main_id = next(k for k, v in stateful.items() if "RedrivePolicy" in v["Properties"])
    dlq_id = next(k for k, v in stateful.items() if "RedriveAllowPolicy" in v["Properties"])
    assert found[("sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                  "sqs:ReceiveMessage")] == [{"Fn::GetAtt": [main_id, "Arn"]}]
    assert found[("sqs:SendMessage",)] == [{"Fn::GetAtt": [dlq_id, "Arn"]}]
    assert found[("s3:GetObject", "s3:GetObjectVersion")] == [
        {"Fn::Join": ["", [{"Fn::GetAtt": ["RawFilesBucket49AA96EA", "Arn"]}, "/raw-files/*"]]}]
    (asset_object,) = found[("s3:GetObject",)]
    assert asset_object["Fn::Join"][1][-1].endswith(".zip"), "the worker asset object only"
    assert found[("es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut")] == [
        {"Fn::Join": ["", [{"Fn::GetAtt": ["SearchDomain62FD613E", "Arn"]}, "/file-index"]]},
        {"Fn::Join": ["", [{"Fn::GetAtt": ["SearchDomain62FD613E", "Arn"]}, "/file-index/*"]]},
    ]
    (lifecycle,) = found[("autoscaling:CompleteLifecycleAction",)]
    assert lifecycle["Fn::Join"][1][-1] == f":autoScalingGroup:*:autoScalingGroupName/file-search-{env}-fleet-workers"
    (logs_arn,) = found[("logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents")]
    assert logs_arn == {"Fn::GetAtt": ["WorkersWorkerLogs468B19B0", "Arn"]}
    session_manager = [v for k, v in found.items() if "ssm:UpdateInstanceInformation" in k]
    assert session_manager == [["*"]], "only actions without resource-level permissions use '*'"


# --- the worker's start-up -----------------------------------------------------------------------

def test_user_data_sets_exactly_the_variables_the_worker_reads(synthesized, env):
    from tests.support.worker_env import worker_env_vars  # the worker's own declaration
    text = user_data_text(synthesized, env)
    block = text.split("cat > /etc/ingest-worker.env <<'WORKER_ENV'\n", 1)[1].split("\nWORKER_ENV\n", 1)[0]
    written = dict(line.split("=", 1) for line in block.splitlines())
    declared = worker_env_vars()
    required = {name for name, is_required in declared.items() if is_required}
    assert required <= set(written), f"missing: {required - set(written)}"
    assert set(written) <= set(declared), f"unknown to the worker: {set(written) - set(declared)}"
    # Optional variables the worker reads but the fleet leaves at the worker's default.
    assert set(declared) - set(written) == {"WORKER_AWS_ENDPOINT_URL"}
    config = ENVIRONMENTS[env]
    assert written["WORKER_VISIBILITY_TIMEOUT_SECONDS"] == str(config.queue.visibility_timeout_seconds)
    assert written["WORKER_PREFIX"] == config.bucket.raw_prefix
    assert written["WORKER_OPENSEARCH_INDEX"] == config.search.index_name
    assert written["WORKER_OPENSEARCH_AUTH"] == "sigv4"
    assert int(written["WORKER_SHUTDOWN_TIMEOUT_SECONDS"]) < config.fleet.drain_timeout_seconds


def test_systemd_unit_runs_the_worker_module_with_that_environment(synthesized, env):
    text = user_data_text(synthesized, env)
    unit = text.split("cat > /etc/systemd/system/ingest-worker.service <<'UNIT'\n", 1)[1].split("\nUNIT\n", 1)[0]
    assert "EnvironmentFile=/etc/ingest-worker.env" in unit
    assert "WorkingDirectory=/opt/ingest-worker" in unit
    assert "ExecStart=/usr/bin/python3 -m ingest_worker" in unit
    assert "Restart=always" in unit
    stop = int(re.search(r"TimeoutStopSec=(\d+)", unit).group(1))
    assert stop < ENVIRONMENTS[env].fleet.drain_timeout_seconds
    assert "systemctl enable --now ingest-worker.service" in text
    assert '"file_path": "/var/log/ingest-worker/worker.log"' in text


# --- search -------------------------------------------------------------------------------------

def test_search_domain_is_private_encrypted_and_sized_from_config(synthesized, env):
    settings = ENVIRONMENTS[env].search
    domain = only(resources(synthesized, env, "AWS::OpenSearchService::Domain"))
    props = domain["Properties"]
    assert props["EngineVersion"] == f"OpenSearch_{settings.engine_version}"
    assert props["EncryptionAtRestOptions"] == {"Enabled": True}
    assert props["NodeToNodeEncryptionOptions"] == {"Enabled": True}
    assert props["DomainEndpointOptions"] == {"EnforceHTTPS": True, "TLSSecurityPolicy": "Policy-Min-TLS-1-2-2019-07"}
    assert len(props["VPCOptions"]["SubnetIds"]) == settings.availability_zone_count
    assert "AccessPolicies" not in props, "IAM identity policies only"
    cluster = props["ClusterConfig"]
    assert cluster["InstanceCount"] == settings.data_node_count
    assert cluster["InstanceType"] == settings.data_node_instance_type
    assert cluster["DedicatedMasterEnabled"] is (settings.master_node_count > 0)
    assert cluster["ZoneAwarenessEnabled"] is (settings.availability_zone_count > 1)
    assert set(props["LogPublishingOptions"]) == {"SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS", "ES_APPLICATION_LOGS"}
    assert domain["DeletionPolicy"] == ("Delete" if env == "dev" else "Retain")


def test_prod_search_is_multi_az_with_dedicated_masters(synthesized):
    cluster = only(resources(synthesized, "prod", "AWS::OpenSearchService::Domain"))["Properties"]["ClusterConfig"]
    assert cluster["DedicatedMasterCount"] == 3
    assert cluster["ZoneAwarenessConfig"] == {"AvailabilityZoneCount": 2}


def test_search_domain_admits_only_the_workers_on_443(synthesized, env):
    template = synthesized.template(env, "Network")
    groups = template.find_resources("AWS::EC2::SecurityGroup")
    search_sg = next(k for k, v in groups.items() if v["Properties"]["GroupDescription"].startswith("OpenSearch"))
    worker_sg = next(k for k, v in groups.items() if v["Properties"]["GroupDescription"].startswith("Ingest workers"))
    template.has_resource_properties("AWS::EC2::SecurityGroupIngress", {
        "GroupId": {"Fn::GetAtt": [search_sg, "GroupId"]},
        "SourceSecurityGroupId": {"Fn::GetAtt": [worker_sg, "GroupId"]},
        "FromPort": 443, "ToPort": 443, "IpProtocol": "tcp",
    })


def test_stateful_stacks_are_protected_in_prod(synthesized):
    stage = synthesized.stages["prod"]
    assert stage.stateful.termination_protection and stage.search.termination_protection
    assert not stage.fleet.termination_protection and not stage.network.termination_protection


def test_topics_are_encrypted_and_tls_only(synthesized, env):
    template = synthesized.template(env, "Alerts")
    topics = template.find_resources("AWS::SNS::Topic")
    assert len(topics) == 2
    for topic in topics.values():
        assert "KmsMasterKeyId" in topic["Properties"]
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    template.has_resource_properties("AWS::SNS::TopicPolicy", {"PolicyDocument": {"Statement": Match.array_with([
        Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})])}})
