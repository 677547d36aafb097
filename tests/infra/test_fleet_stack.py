"""Fleet stack: instances, rollout, scaling, the worker role's permissions and the worker's
start-up, in every environment."""

from __future__ import annotations

import json
import re

from environments import ENVIRONMENTS
from tests.support.templates import only_resource, rendered, resources_of_type


def fleet_resource(synthesized, env: str, kind: str) -> tuple[str, dict]:
    return only_resource(synthesized.templates[env]["Fleet"], kind)


def user_data_text(synthesized, env) -> str:
    _, template = fleet_resource(synthesized, env, "AWS::EC2::LaunchTemplate")
    return rendered(template["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"])


# --- instances ---------------------------------------------------------------------------------

def test_launch_template_hardening(synthesized, env):
    data = fleet_resource(synthesized, env, "AWS::EC2::LaunchTemplate")[1]["Properties"]["LaunchTemplateData"]
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
    _, group = fleet_resource(synthesized, env, "AWS::AutoScaling::AutoScalingGroup")
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


def from_network_stack(synthesized, env: str, value: dict) -> dict:
    """The Network stack's value behind a cross-stack reference in the Fleet stack."""
    reference = value["Fn::GetStackOutput"]
    assert reference["StackName"] == f"file-search-{env}-network"
    return synthesized.templates[env]["Network"]["Outputs"][reference["OutputName"]]["Value"]


def test_group_spans_two_availability_zones(synthesized, env):
    """CT.AUTOSCALING.PR.1 reads the group's AvailabilityZones; the subnets are references to the
    Network stack, so follow them there: one isolated subnet in each named zone."""
    props = fleet_resource(synthesized, env, "AWS::AutoScaling::AutoScalingGroup")[1]["Properties"]
    zones = props["AvailabilityZones"]
    assert len(zones) == 2 and zones[0] != zones[1]
    network = synthesized.templates[env]["Network"]["Resources"]
    subnet_zones = []
    for subnet in props["VPCZoneIdentifier"]:
        subnet_id = from_network_stack(synthesized, env, subnet)["Ref"]
        assert network[subnet_id]["Type"] == "AWS::EC2::Subnet"
        assert network[subnet_id]["Properties"]["MapPublicIpOnLaunch"] is False
        subnet_zones.append(network[subnet_id]["Properties"]["AvailabilityZone"])
    assert subnet_zones == zones


def test_group_falls_back_to_other_instance_types_in_order(synthesized, env):
    fleet = ENVIRONMENTS[env].fleet
    props = fleet_resource(synthesized, env, "AWS::AutoScaling::AutoScalingGroup")[1]["Properties"]
    policy = props["MixedInstancesPolicy"]
    assert "LaunchTemplate" not in props
    assert [o["InstanceType"] for o in policy["LaunchTemplate"]["Overrides"]] == [
        fleet.instance_type, *fleet.fallback_instance_types]
    assert policy["InstancesDistribution"] == {
        "OnDemandAllocationStrategy": "prioritized", "OnDemandPercentageAboveBaseCapacity": 100}
    template_id, _ = fleet_resource(synthesized, env, "AWS::EC2::LaunchTemplate")
    assert policy["LaunchTemplate"]["LaunchTemplateSpecification"]["LaunchTemplateId"] == {"Ref": template_id}


def test_termination_hook_gives_the_worker_time_to_drain(synthesized, env):
    hook = fleet_resource(synthesized, env, "AWS::AutoScaling::LifecycleHook")[1]["Properties"]
    assert hook["LifecycleTransition"] == "autoscaling:EC2_INSTANCE_TERMINATING"
    assert hook["LifecycleHookName"] == "drain-worker"
    assert hook["HeartbeatTimeout"] == ENVIRONMENTS[env].fleet.drain_timeout_seconds
    assert hook["DefaultResult"] == "CONTINUE"
    text = user_data_text(synthesized, env)
    assert "WORKER_LIFECYCLE_HOOK_NAME=drain-worker" in text
    assert f"WORKER_ASG_NAME=file-search-{env}-fleet-workers" in text
    assert "autoscaling/target-lifecycle-state" in text


def test_scaling_tracks_backlog_per_in_service_instance(synthesized, env):
    # The start-from-zero step policy (dev) is tests/infra/test_scaling_replay.py's.
    policy = only_resource(synthesized.templates[env]["Fleet"], "AWS::AutoScaling::ScalingPolicy",
                           lambda r: r["Properties"]["PolicyType"] == "TargetTrackingScaling")[1]["Properties"]
    config = policy["TargetTrackingConfiguration"]
    assert config["TargetValue"] == ENVIRONMENTS[env].fleet.backlog_per_instance_target
    metrics = {m["Id"]: m for m in config["CustomizedMetricSpecification"]["Metrics"]}
    visible = metrics["visible"]["MetricStat"]
    assert visible["Metric"]["Namespace"] == "AWS/SQS"
    assert visible["Metric"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert visible["Metric"]["Dimensions"][0]["Name"] == "QueueName"
    in_service = metrics["in_service"]["MetricStat"]
    assert in_service["Metric"]["MetricName"] == "GroupInServiceInstances"
    group_id, _ = fleet_resource(synthesized, env, "AWS::AutoScaling::AutoScalingGroup")
    assert in_service["Metric"]["Dimensions"] == [{"Name": "AutoScalingGroupName", "Value": {"Ref": group_id}}]
    result = metrics["backlog_per_instance"]
    assert result["Expression"] == "IF(in_service > 0, visible / in_service, visible)"
    assert result["ReturnData"] is True
    assert [m.get("ReturnData", True) for m in metrics.values()].count(True) == 1


# --- least privilege -------------------------------------------------------------------------

def worker_permissions(synthesized, env) -> dict[tuple[str, ...], list]:
    """Every statement that reaches the worker role: (actions) -> resources."""
    templates = synthesized.templates[env]
    statements = []
    for policy in resources_of_type(templates["Fleet"], "AWS::IAM::Policy").values():
        if "WorkerRole" in str(policy["Properties"]["Roles"]):
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    role_id, role = only_resource(templates["Fleet"], "AWS::IAM::Role",
                                  lambda r: "ec2.amazonaws.com" in str(r["Properties"]["AssumeRolePolicyDocument"]))
    assert role_id.startswith("WorkersWorkerRole")
    attached = role["Properties"]["ManagedPolicyArns"]
    assert len(attached) == 2, "the ingest-consumer and search-writer policies, no AWS managed policy"
    for stack in ("Stateful", "Search"):
        for policy in resources_of_type(templates[stack], "AWS::IAM::ManagedPolicy").values():
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
        ("s3:ListBucket",),  # 404 rather than 403 for a missing object: a bad message, not an outage
        ("kms:Decrypt",),  # the raw files' key, through S3
        ("kms:Decrypt", "kms:GenerateDataKey"),  # the queues' key, through SQS
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
    stateful = synthesized.templates[env]["Stateful"]
    main_id, _ = only_resource(stateful, "AWS::SQS::Queue", lambda r: "RedrivePolicy" in r["Properties"])
    dlq_id, _ = only_resource(stateful, "AWS::SQS::Queue", lambda r: "RedriveAllowPolicy" in r["Properties"])
    assert found[("sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                  "sqs:ReceiveMessage")] == [{"Fn::GetAtt": [main_id, "Arn"]}]
    assert found[("sqs:SendMessage",)] == [{"Fn::GetAtt": [dlq_id, "Arn"]}]
    assert found[("s3:GetObject", "s3:GetObjectVersion")] == [
        {"Fn::Join": ["", [{"Fn::GetAtt": ["RawFilesBucket49AA96EA", "Arn"]}, "/raw-files/*"]]}]
    assert found[("s3:ListBucket",)] == [{"Fn::GetAtt": ["RawFilesBucket49AA96EA", "Arn"]}]
    assert found[("kms:Decrypt",)] == [{"Fn::GetAtt": ["RawFilesKey7A15CF87", "Arn"]}]
    assert found[("kms:Decrypt", "kms:GenerateDataKey")] == [{"Fn::GetAtt": ["IngestQueuesKeyC95F0FDC", "Arn"]}]
    (asset_object,) = found[("s3:GetObject",)]
    assert asset_object["Fn::Join"][1][-1].endswith(".zip"), "the worker asset object only"
    assert found[("es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut")] == [
        {"Fn::Join": ["", [{"Fn::GetAtt": ["SearchDomain62FD613E", "Arn"]}, "/file-index-write"]]},
        {"Fn::Join": ["", [{"Fn::GetAtt": ["SearchDomain62FD613E", "Arn"]}, "/file-index-write/*"]]},
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
    # Optional variables the worker reads but the fleet leaves at the worker's default
    # (concurrency: the worker chooses from the instance's vCPUs unless config pins it).
    leaves_concurrency = ENVIRONMENTS[env].fleet.worker_concurrency is None
    # Extraction limits: the worker's defaults (docs/extraction.md) until the fleet tunes them.
    extract_defaults = {name for name in declared if name.startswith("WORKER_EXTRACT_")}
    assert set(declared) - set(written) == {"WORKER_AWS_ENDPOINT_URL"} | extract_defaults | (
        {"WORKER_CONCURRENCY"} if leaves_concurrency else set())
    config = ENVIRONMENTS[env]
    assert written["WORKER_VISIBILITY_TIMEOUT_SECONDS"] == str(config.queue.visibility_timeout_seconds)
    assert written["WORKER_PREFIX"] == config.bucket.raw_prefix
    assert written["WORKER_OPENSEARCH_INDEX"] == config.search.write_alias
    assert written["WORKER_OPENSEARCH_AUTH"] == "sigv4"
    assert int(written["WORKER_SHUTDOWN_TIMEOUT_SECONDS"]) < config.fleet.drain_timeout_seconds
    # The raw bucket lives in the account the environment deploys to: the worker's
    # ExpectedBucketOwner is that account, resolved by CloudFormation at deploy time.
    parts = fleet_resource(synthesized, env, "AWS::EC2::LaunchTemplate")[1]["Properties"][
        "LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Join"][1]
    owner_at = next(i for i, part in enumerate(parts)
                    if isinstance(part, str) and part.endswith("WORKER_EXPECTED_BUCKET_OWNER="))
    assert parts[owner_at + 1] == {"Ref": "AWS::AccountId"}


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


# --- the worker's role inside OpenSearch (fine-grained access control) ---------------------------

def security_settings(synthesized, env: str) -> tuple[str, dict, list[dict]]:
    logical_id, resource = fleet_resource(synthesized, env, "Custom::OpenSearchSecurity")
    requests = resource["Properties"]["Requests"]["Fn::Join"]
    assert requests[0] == ""
    text = "".join(p if isinstance(p, str) else "WORKER_ROLE_ARN" for p in requests[1])
    (worker_role_arn,) = [p for p in requests[1] if not isinstance(p, str)]
    assert worker_role_arn == {"Fn::GetAtt": ["WorkersWorkerRoleF7F97083", "Arn"]}
    return logical_id, resource, json.loads(text)


def test_without_fine_grained_access_control_the_deploy_creates_only_the_index(synthesized):
    """dev: no security-plugin call (the plugin is off), but the template, the first index and
    both aliases are created at deploy time, as in staging and prod, through IAM alone."""
    assert not ENVIRONMENTS["dev"].search.fine_grained_access_control
    _, resource = fleet_resource(synthesized, "dev", "Custom::OpenSearchSecurity")
    requests = json.loads(resource["Properties"]["Requests"])
    index = ENVIRONMENTS["dev"].search.index_name
    assert [(r["method"], r["path"]) for r in requests] == [
        ("PUT", f"/_index_template/{index}"), ("PUT", f"/{index}-v1")]
    assert requests[1]["unless_exists"] == f"/_alias/{index}"
    assert requests[1]["body"]["aliases"] == {index: {}, f"{index}-write": {"is_write_index": True}}
    # The role it runs as may send exactly these requests, nothing else.
    search = synthesized.templates["dev"]["Search"]
    (role_id,) = [i for i in resources_of_type(search, "AWS::IAM::Role")
                  if i.startswith("SearchIndexBootstrapRole")]
    (policy,) = [p["Properties"]["PolicyDocument"] for p in
                 resources_of_type(search, "AWS::IAM::Policy").values()
                 if p["Properties"]["Roles"] == [{"Ref": role_id}]]
    (statement,) = policy["Statement"]
    assert statement["Action"] == ["es:ESHttpGet", "es:ESHttpPut"]
    paths = sorted(r["Fn::Join"][1][1] for r in statement["Resource"])
    assert paths == [f"/_alias/{index}", f"/_index_template/{index}", f"/{index}-v1"]


def test_worker_role_is_mapped_to_a_role_that_writes_only_its_index(synthesized, env):
    if not ENVIRONMENTS[env].search.fine_grained_access_control:
        return  # the test above
    index = ENVIRONMENTS[env].search.index_name
    _, resource, requests = security_settings(synthesized, env)
    assert rendered(resource["Properties"]["Endpoint"]) == "https://<token>"
    role, mapping, audit, template, first_index = requests
    assert (role["method"], role["path"]) == ("PUT", f"/_plugins/_security/api/roles/{index}-writer")
    assert role["body"]["cluster_permissions"] == ["indices:data/write/bulk", "indices:data/read/mget"]
    assert role["body"]["index_permissions"] == [{
        "index_patterns": [f"{index}-write", f"{index}-v*"],
        "allowed_actions": ["indices:admin/aliases/get", "indices:data/write/*",
                            "indices:data/read/*"]}]
    assert "tenant_permissions" not in role["body"]
    assert (mapping["method"], mapping["path"]) == ("PUT", f"/_plugins/_security/api/rolesmapping/{index}-writer")
    assert mapping["body"]["backend_roles"] == ["WORKER_ROLE_ARN"]
    assert set(mapping["body"]) == {"description", "backend_roles"}, "no users, no hosts"
    assert audit == {"method": "PATCH", "path": "/_plugins/_security/api/audit",
                     "body": [{"op": "add", "path": "/config/enabled", "value": True}]}
    search = ENVIRONMENTS[env].search
    assert (template["method"], template["path"]) == ("PUT", f"/_index_template/{index}")
    settings = template["body"]["template"]["settings"]["index"]
    assert (settings["number_of_shards"], settings["number_of_replicas"]) == (
        search.index_shards, search.index_replicas)
    assert (first_index["path"], first_index["unless_exists"]) == (
        f"/{index}-v1", f"/_alias/{index}")


def test_security_settings_run_in_the_vpc_as_the_master_role_before_any_worker(synthesized, env):
    fgac = ENVIRONMENTS[env].search.fine_grained_access_control
    template = synthesized.templates[env]["Fleet"]
    logical_id, _ = fleet_resource(synthesized, env, "Custom::OpenSearchSecurity")
    _, group = fleet_resource(synthesized, env, "AWS::AutoScaling::AutoScalingGroup")
    assert logical_id in group["DependsOn"]
    (handler,) = [f for f in resources_of_type(template, "AWS::Lambda::Function").values()
                  if "VpcConfig" in f["Properties"]]
    assert handler["Properties"]["Handler"] == "respond.handler"
    reference = handler["Properties"]["Role"]["Fn::GetStackOutput"]
    assert reference["StackName"] == f"file-search-{env}-search"
    search = synthesized.templates[env]["Search"]
    role = search["Outputs"][reference["OutputName"]]["Value"]["Fn::GetAtt"]
    assert role[1] == "Arn" and role[0].startswith("SearchAdminRole" if fgac else
                                                   "SearchIndexBootstrapRole")
    vpc = handler["Properties"]["VpcConfig"]
    (group_ref,) = vpc["SecurityGroupIds"]
    network = synthesized.templates[env]["Network"]
    sg_id = from_ssm_parameter(synthesized, env, group_ref)["Fn::GetAtt"][0]
    sg = network["Resources"][sg_id]["Properties"]
    assert sg["GroupDescription"].startswith("Deploy-time OpenSearch security settings")
    egress, s3 = sg["SecurityGroupEgress"]
    assert (egress["FromPort"], egress["ToPort"]) == (443, 443)
    search_sg_id = egress["DestinationSecurityGroupId"]["Fn::GetAtt"][0]
    # Its answer to CloudFormation goes to S3 (the gateway endpoint's policy admits only that).
    assert (s3["CidrIp"], s3["FromPort"], s3["ToPort"]) == ("0.0.0.0/0", 443, 443)
    assert network["Resources"][search_sg_id]["Properties"]["GroupDescription"].startswith("OpenSearch domain")
    # The workers' isolated subnets, one per zone, named as Network's SSM parameters.
    subnets = {from_ssm_parameter(synthesized, env, subnet)["Ref"] for subnet in vpc["SubnetIds"]}
    assert len(vpc["SubnetIds"]) == len(subnets) == 2
    assert {network["Resources"][s]["Type"] for s in subnets} == {"AWS::EC2::Subnet"}


def from_ssm_parameter(synthesized, env: str, value: str) -> dict:
    """The Network stack's value behind a dynamic reference (a plain string: Control Tower's
    CT.LAMBDA.PR.3 accepts it, unlike Fn::GetStackOutput) to one of its SSM parameters."""
    name = re.fullmatch(r"\{\{resolve:ssm:(/file-search-" + env + r"/network/[a-z0-9-]+)\}\}", value).group(1)
    _, parameter = only_resource(synthesized.templates[env]["Network"], "AWS::SSM::Parameter",
                                 lambda r: r["Properties"]["Name"] == name)
    assert parameter["Properties"]["Type"] == "String"
    return parameter["Properties"]["Value"]


def test_the_fleet_deploys_after_the_network_it_resolves_parameters_of(synthesized, env):
    """Dynamic references are no references to CDK: the dependency is declared."""
    manifest = json.loads((synthesized.outdir / f"assembly-{env}" / "manifest.json").read_text())
    stacks = {a["displayName"]: a for a in manifest["artifacts"].values()
              if a["type"] == "aws:cloudformation:stack"}
    network_artifact = next(k for k, a in manifest["artifacts"].items() if a.get("displayName") == f"{env}/Network")
    assert network_artifact in stacks[f"{env}/Fleet"]["dependencies"]
