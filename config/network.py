"""The workers' network: a VPC created per environment, or an existing one."""

from __future__ import annotations

import re
from dataclasses import dataclass

from config.log_retention import LOG_RETENTION_DAYS_ALLOWED

# An availability zone's name: its region and one letter (not a Local Zone or a zone id).
AZ_NAME = re.compile(r"(?P<region>[a-z]{2}(-[a-z]+)+-\d)[a-z]")


@dataclass(frozen=True)
class ExistingVpc:
    """A VPC the environment should use instead of creating one. Given by attributes, not looked
    up, so that synthesis stays offline: copy them from `aws ec2 describe-subnets`."""

    vpc_id: str
    availability_zones: tuple[str, ...]
    isolated_subnet_ids: tuple[str, ...]
    isolated_subnet_route_table_ids: tuple[str, ...]
    vpc_cidr_block: str


@dataclass(frozen=True)
class NetworkConfig:
    """The workers' network: isolated subnets only, AWS APIs through VPC endpoints."""

    cidr: str = "10.40.0.0/16"
    max_azs: int = 2
    flow_log_retention_days: int = 90
    existing_vpc: ExistingVpc | None = None
    # Put the interface endpoints in the first N AZs only (None: every AZ). Each endpoint is
    # billed per AZ it is in; instances in the other AZs still reach it (private DNS answers with
    # its addresses), across zones, and lose it if its zone fails: for environments that may stop
    # ingesting during an AZ outage, e.g. dev.
    interface_endpoint_azs: int | None = None
    # The VPC's zones by name (e.g. ("eu-west-1a", "eu-west-1b")), in place of `max_azs`: for an
    # environment with `account` and `region` set, where it is required (EnvironmentConfig).
    # Without it CDK takes the first `max_azs` zones (`Fn::GetAZs`, or a context lookup when the
    # account is known), and an interface endpoint service is not offered in every zone. Names
    # map to different physical zones in each account: choose them in the deploying account
    # (docs/environments.md#availability-zones).
    availability_zones: tuple[str, ...] | None = None

    @property
    def zone_count(self) -> int:
        """How many AZs the VPC spans."""
        if self.existing_vpc:
            return len(self.existing_vpc.availability_zones)
        return len(self.availability_zones) if self.availability_zones else self.max_azs

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if self.max_azs < 2:
            found.append(("max_azs", "must be at least 2 (the fleet and the domain span two AZs)"))
        zones = self.zone_count
        if self.availability_zones is not None:
            azs = self.availability_zones
            if isinstance(azs, str) or len(azs) < 2 or len(set(azs)) != len(azs):
                found.append(("availability_zones", "must be a tuple of at least two different "
                                                    "AZ names (the fleet and the domain span two)"))
            elif not all(isinstance(az, str) and AZ_NAME.fullmatch(az) for az in azs):
                found.append(("availability_zones", "must be AZ names like 'eu-west-1a'"))
            if self.existing_vpc is not None:
                found.append(("availability_zones", "must be None with existing_vpc (its "
                                                    "availability_zones are the VPC's)"))
        if self.interface_endpoint_azs is not None and not 1 <= self.interface_endpoint_azs <= zones:
            found.append(("interface_endpoint_azs", f"must be None (every AZ) or between 1 and the "
                                                    f"VPC's {zones} AZs"))
        if self.flow_log_retention_days not in LOG_RETENTION_DAYS_ALLOWED:
            found.append(("flow_log_retention_days", "must be one of CloudWatch's retention periods"))
        vpc = self.existing_vpc
        if vpc is not None:
            if not re.fullmatch(r"vpc-[0-9a-f]{8,17}", vpc.vpc_id):
                found.append(("existing_vpc", f"vpc_id {vpc.vpc_id!r} is not a VPC id"))
            if not (len(vpc.availability_zones) == len(vpc.isolated_subnet_ids)
                    == len(vpc.isolated_subnet_route_table_ids) >= 2):
                found.append(("existing_vpc", "needs one isolated subnet and route table per "
                                              "availability zone, in at least two zones"))
        return found
