"""Complete the Auto Scaling lifecycle action on shutdown (instance id from IMDSv2)."""
from __future__ import annotations

import urllib.request
from typing import Any

IMDS_URL = "http://169.254.169.254"


def instance_id(imds_url: str = IMDS_URL, timeout: float = 2.0) -> str:
    token_req = urllib.request.Request(
        imds_url + "/latest/api/token", method="PUT",
        headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
    with urllib.request.urlopen(token_req, timeout=timeout) as resp:
        token = resp.read().decode("ascii")
    id_req = urllib.request.Request(
        imds_url + "/latest/meta-data/instance-id",
        headers={"X-aws-ec2-metadata-token": token})
    with urllib.request.urlopen(id_req, timeout=timeout) as resp:
        return resp.read().decode("ascii").strip()


def complete(autoscaling: Any, hook_name: str, asg_name: str, log: Any,
             imds_url: str = IMDS_URL, timeout: float = 2.0) -> None:
    iid = instance_id(imds_url, timeout)
    autoscaling.complete_lifecycle_action(
        LifecycleHookName=hook_name, AutoScalingGroupName=asg_name,
        LifecycleActionResult="CONTINUE", InstanceId=iid)
    log.info("lifecycle_completed", "Completed the lifecycle action with CONTINUE",
             instance_id=iid, hook=hook_name, asg=asg_name)
