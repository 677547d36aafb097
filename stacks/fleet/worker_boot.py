"""What an instance runs at boot to install and start the worker (rendered into user data).

Kept apart from the fleet construct so that the script reads top to bottom as the instance
executes it, and so tests can check it against the variables the worker reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

SERVICE = "ingest-worker"
INSTALL_DIR = "/opt/ingest-worker"
ENV_FILE = "/etc/ingest-worker.env"
LOG_FILE = "/var/log/ingest-worker/worker.log"
CLOUDWATCH_AGENT_CONFIG = "/opt/aws/amazon-cloudwatch-agent/etc/ingest-worker.json"
# The worker must stay up this long after start before the instance reports success: a
# configuration error makes it exit at once (code 2), which then fails the rollout.
STARTUP_GRACE_SECONDS = 30


@dataclass(frozen=True)
class BootSettings:
    """Values (CDK tokens allowed) the boot script needs."""

    asset_s3_url: str
    region: str
    stack_name: str
    signal_resource: str | None
    log_group_name: str
    worker_environment: dict[str, str]
    stop_timeout_seconds: int


def boot_commands(settings: BootSettings) -> list[str]:
    env_lines = [f"{name}={value}" for name, value in settings.worker_environment.items()]
    signal = (
        f'/opt/aws/bin/cfn-signal --exit-code "$1" --stack {settings.stack_name} '
        f"--resource {settings.signal_resource} --region {settings.region} || true"
        if settings.signal_resource
        else "true"
    )
    return [
        "set -euo pipefail",
        "exec > >(tee -a /var/log/ingest-worker-boot.log | logger -t ingest-worker-boot) 2>&1",
        # cfn-signal first and alone: the ERR trap below calls it, so it must exist before the
        # trap is set and before any install that can fail; otherwise a failed boot sends no
        # signal and CloudFormation waits out the whole startup timeout. Retried because the
        # package mirror is the one thing a brand-new instance cannot yet report failing on.
        "for attempt in 1 2 3; do dnf install -y aws-cfn-bootstrap && break; sleep 10; done",
        "test -x /opt/aws/bin/cfn-signal",
        f"report() {{ {signal}; }}",
        # Any failing command reports failure: CloudFormation then rolls the rollout back.
        "trap 'report 1' ERR",
        # From the Amazon Linux 2023 repositories, reached through the S3 gateway endpoint.
        "dnf install -y python3 python3-boto3 amazon-cloudwatch-agent unzip",
        f"aws s3 cp --region {settings.region} {settings.asset_s3_url} /tmp/{SERVICE}.zip",
        f"rm -rf {INSTALL_DIR} && install -d -m 0755 {INSTALL_DIR}",
        f"unzip -q /tmp/{SERVICE}.zip -d {INSTALL_DIR}",
        f"id -u {SERVICE} >/dev/null 2>&1 || useradd --system --no-create-home "
        f"--shell /sbin/nologin {SERVICE}",
        f"install -d -o {SERVICE} -g {SERVICE} -m 0750 /var/log/{SERVICE}",
        # No secrets here: queue URLs, endpoint and tuning only. Credentials come from the
        # instance profile through IMDSv2.
        f"cat > {ENV_FILE} <<'WORKER_ENV'",
        *env_lines,
        "WORKER_ENV",
        f"chmod 0644 {ENV_FILE}",
        f"cat > /etc/systemd/system/{SERVICE}.service <<'UNIT'",
        *_worker_unit(settings.stop_timeout_seconds),
        "UNIT",
        f"cat > /usr/local/bin/{SERVICE}-drain-watch <<'SCRIPT'",
        *_drain_watch_script(),
        "SCRIPT",
        f"chmod 0755 /usr/local/bin/{SERVICE}-drain-watch",
        f"cat > /etc/systemd/system/{SERVICE}-drain-watch.service <<'UNIT'",
        *_drain_watch_unit(),
        "UNIT",
        f"cat > /etc/logrotate.d/{SERVICE} <<'ROTATE'",
        f"{LOG_FILE} {{ daily rotate 3 compress missingok notifempty copytruncate }}",
        "ROTATE",
        f"cat > {CLOUDWATCH_AGENT_CONFIG} <<'AGENT'",
        json.dumps(_cloudwatch_agent_config(settings.log_group_name), indent=1),
        "AGENT",
        "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 "
        f"-s -c file:{CLOUDWATCH_AGENT_CONFIG}",
        "systemctl daemon-reload",
        f"systemctl enable --now {SERVICE}.service {SERVICE}-drain-watch.service",
        f"sleep {STARTUP_GRACE_SECONDS}",
        f'test "$(systemctl show -p NRestarts --value {SERVICE})" = 0',
        f"systemctl is-active --quiet {SERVICE}",
        "report 0",
    ]


def _worker_unit(stop_timeout_seconds: int) -> list[str]:
    return [
        "[Unit]",
        "Description=File-search ingest worker (SQS -> OpenSearch)",
        "After=network-online.target",
        "Wants=network-online.target",
        "[Service]",
        f"User={SERVICE}",
        f"EnvironmentFile={ENV_FILE}",
        f"WorkingDirectory={INSTALL_DIR}",
        "ExecStart=/usr/bin/python3 -m ingest_worker",
        # On SIGTERM the worker stops receiving, finishes or releases its messages, exits 0.
        "KillSignal=SIGTERM",
        f"TimeoutStopSec={stop_timeout_seconds}",
        "Restart=always",
        "RestartSec=5",
        f"StandardOutput=append:{LOG_FILE}",
        f"StandardError=append:{LOG_FILE}",
        "NoNewPrivileges=true",
        "ProtectSystem=strict",
        f"ReadWritePaths=/var/log/{SERVICE}",
        "PrivateTmp=true",
        "[Install]",
        "WantedBy=multi-user.target",
    ]


def _drain_watch_script() -> list[str]:
    # When Auto Scaling starts terminating the instance, IMDS reports the target lifecycle
    # state "Terminated" while the termination hook holds the instance: stop the worker then,
    # and the worker completes the lifecycle action once its messages are finished or released.
    return [
        "#!/bin/bash",
        "while true; do",
        "  token=$(curl -sf -X PUT http://169.254.169.254/latest/api/token "
        "-H 'X-aws-ec2-metadata-token-ttl-seconds: 60' || true)",
        "  state=$(curl -sf -H \"X-aws-ec2-metadata-token: $token\" "
        "http://169.254.169.254/latest/meta-data/autoscaling/target-lifecycle-state || true)",
        f'  if [ "$state" = "Terminated" ]; then systemctl stop {SERVICE}; exit 0; fi',
        "  sleep 5",
        "done",
    ]


def _drain_watch_unit() -> list[str]:
    return [
        "[Unit]",
        "Description=Stop the ingest worker when Auto Scaling terminates this instance",
        "[Service]",
        f"ExecStart=/usr/local/bin/{SERVICE}-drain-watch",
        "Restart=on-failure",
        "[Install]",
        "WantedBy=multi-user.target",
    ]


def _cloudwatch_agent_config(log_group_name: str) -> dict:
    return {
        "agent": {"run_as_user": "root"},
        "logs": {
            "logs_collected": {
                "files": {
                    "collect_list": [
                        {
                            "file_path": LOG_FILE,
                            "log_group_name": log_group_name,
                            "log_stream_name": "{instance_id}",
                            "retention_in_days": -1,
                        }
                    ]
                }
            }
        },
    }
