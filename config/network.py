"""The workers' network: a VPC created per environment, or an existing one."""

from __future__ import annotations

import re
from dataclasses import dataclass

from config.log_retention import LOG_RETENTION_DAYS_ALLOWED


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

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if self.max_azs < 2:
            found.append(("max_azs", "must be at least 2 (the fleet and the domain span two AZs)"))
        zones = len(self.existing_vpc.availability_zones) if self.existing_vpc else self.max_azs
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
