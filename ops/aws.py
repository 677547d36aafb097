"""AWS access for the CLI: one boto3 session (--profile/--region as in the AWS CLI) and the
deployed resources of an environment, read from its stacks' outputs (contract/outputs.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError, ProfileNotFound

from contract import ContractError
from contract.names import stack_name
from contract.outputs import CONTRACT, OutputSpec, by_stack


class OpsError(ContractError):
    """A failure the operator can act on; printed as `error: ...` with exit code 2."""


class Aws:
    """Clients of one session, created on first use. `endpoint_url` points every client at
    one endpoint (the local emulator in tests), like the AWS CLI's --endpoint-url."""

    def __init__(self, *, profile: str | None = None, region: str | None = None,
                 endpoint_url: str | None = None) -> None:
        try:
            self.session = boto3.Session(profile_name=profile, region_name=region)
        except ProfileNotFound as error:
            raise OpsError(f"{error} (--profile)") from None
        if not self.session.region_name:
            raise OpsError("no AWS region: pass --region, set AWS_REGION, or use a profile "
                           "that has a region")
        self.region: str = self.session.region_name
        self.endpoint_url = endpoint_url
        self._clients: dict[str, Any] = {}
        self._config = Config(retries={"mode": "standard", "max_attempts": 5})

    def client(self, service: str) -> Any:
        if service not in self._clients:
            try:
                self._clients[service] = self.session.client(
                    service, endpoint_url=self.endpoint_url, config=self._config)
            except NoRegionError:
                raise OpsError("no AWS region: pass --region") from None
        return self._clients[service]

    def credentials(self) -> Any:
        credentials = self.session.get_credentials()
        if credentials is None:
            raise OpsError("no AWS credentials found (profile, environment or instance role)")
        return credentials


@dataclass(frozen=True)
class Deployed:
    """The resources of one deployed environment, by the contract's output keys."""

    env: str
    values: dict[str, str]

    def __getitem__(self, spec: OutputSpec) -> str:
        return self.values[spec.key]


def deployed(aws: Aws, env: str) -> Deployed:
    """Read every output of the contract from the environment's stacks, or say what is missing."""
    cfn = aws.client("cloudformation")
    values: dict[str, str] = {}
    for stack, specs in by_stack().items():
        name = stack_name(env, stack)
        try:
            stacks = cfn.describe_stacks(StackName=name)["Stacks"]
        except ClientError as error:
            if "does not exist" in str(error):
                raise OpsError(f"stack {name} is not deployed in {aws.region} (environment "
                               f"{env!r}; needed for {', '.join(s.key for s in specs)})") from None
            raise OpsError(f"cannot read stack {name}: {error}") from None
        except NoCredentialsError:
            raise OpsError("no AWS credentials found (profile, environment or instance role)") \
                from None
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
        missing = [s.key for s in specs if s.key not in outputs]
        if missing:
            raise OpsError(f"stack {name} has no output {', '.join(missing)}: it was deployed "
                           "from a version of the app before these outputs existed; deploy the "
                           "current app (make deploy ENV=" + env + ")")
        values.update({s.key: outputs[s.key] for s in specs})
    assert set(values) == {s.key for s in CONTRACT}
    return Deployed(env=env, values=values)


def error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")
