"""The OpenSearch domain the workers index into."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class SearchConfig:
    """The OpenSearch domain the workers index into (created here, or an existing one)."""

    index_name: str = "file-index"
    engine_version: str = "2.19"
    data_node_count: int = 1
    data_node_instance_type: str = "t3.small.search"
    # 0 = no dedicated master nodes (fine for one small development node only).
    master_node_count: int = 0
    master_node_instance_type: str = "m6g.large.search"
    # Spread data nodes over this many AZs (1 = no zone awareness).
    availability_zone_count: int = 1
    volume_size_gib: int = 10
    # Use an existing domain instead of creating one: both or neither.
    existing_domain_endpoint: str | None = None
    existing_domain_arn: str | None = None

    @property
    def imported(self) -> bool:
        return self.existing_domain_endpoint is not None

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,254}", self.index_name):
            found.append(("index_name", "must be a lowercase OpenSearch index name"))
        if (self.existing_domain_endpoint is None) != (self.existing_domain_arn is None):
            found.append(("existing_domain_arn", "existing_domain_endpoint and "
                                                 "existing_domain_arn go together"))
        if self.existing_domain_endpoint is not None and not self.existing_domain_endpoint.startswith(
                "https://"):
            found.append(("existing_domain_endpoint", "must start with https://"))
        if self.data_node_count < 1:
            found.append(("data_node_count", "must be at least 1"))
        if self.master_node_count not in (0, 3, 5):
            found.append(("master_node_count", "must be 0, 3 or 5"))
        if self.availability_zone_count not in (1, 2, 3):
            found.append(("availability_zone_count", "must be 1, 2 or 3"))
        elif self.data_node_count % self.availability_zone_count:
            found.append(("data_node_count", f"must be a multiple of availability_zone_count "
                                             f"({self.availability_zone_count})"))
        return found
