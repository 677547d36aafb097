"""The OpenSearch domain the workers index into."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class SearchConfig:
    """The OpenSearch domain the workers index into (created here, or an existing one)."""

    # The read alias; the workers write through `<index_name>-write`, and the data lives in
    # versioned indices `<index_name>-v1`, -v2, ... (search_index/, docs/search.md).
    index_name: str = "file-index"
    # Sizing rule for the versioned indices (the template takes them at deploy time; an
    # existing index keeps its shard count until `ops index migrate`):
    #   shards: aim for 10-30 GiB per primary shard (AWS's guidance for search workloads) and
    #   at least one primary per data node that should share the indexing load; file text is
    #   small, so one shard holds about 10 million typical documents.
    #   replicas: 1 wherever losing a node must not lose searches (staging, prod); a replica
    #   needs a second data node (never on its primary's node), so 0 on a one-node domain.
    index_shards: int = 1
    index_replicas: int = 0
    # How long a deleted file's tombstone (docs/deletes.md) is kept before `python -m ops index
    # purge-tombstones` may delete it. It orders late events: a create event older than the
    # removal finds it and writes nothing. Such an event was sent before the removal, and SQS
    # drops a message queue.retention_days after it was sent (on the DLQ, dlq_retention_days
    # after the original send); the sum of both, which the environment checks this exceeds,
    # is a bound with a margin. Kept longer, a tombstone costs one small document.
    tombstone_retention_days: int = 30
    engine_version: str = "2.19"
    # The user dictionary for Kuromoji (company terms it splits wrongly): the id of a
    # TXT-DICTIONARY package associated with the domain, made from
    # search_index/user_dictionary.txt (docs/search.md, "User dictionary"). None: no package,
    # the mapping's inline rules (empty). CloudFormation has no resource for packages, so the
    # package is created and associated by the steps in the runbook, and its id goes here;
    # the index template then refers to `analyzers/<id>`.
    user_dictionary_package_id: str | None = None
    data_node_count: int = 1
    data_node_instance_type: str = "t3.small.search"
    # 0 = no dedicated master nodes (fine for one small development node only).
    master_node_count: int = 0
    master_node_instance_type: str = "m6g.large.search"
    # Spread data nodes over this many AZs (1 = no zone awareness).
    availability_zone_count: int = 1
    volume_size_gib: int = 10
    # Fine-grained access control (OpenSearch's security plugin) with IAM identities only:
    # the internal user database stays off. `admin_role_name` is the IAM role, in the
    # deploying account, that is the domain's master user (it maps the worker role, see the
    # README's security section). Audit logs are published whenever it is on.
    fine_grained_access_control: bool = True
    admin_role_name: str | None = None
    # CloudWatch Logs allows 10 resource policies per account and region, so one policy lets
    # OpenSearch publish the logs of every domain of this app in the account and region
    # (docs/security.md). None: this environment's Search stack creates it. An environment's
    # name: that environment (same account and region) created it, and its Search stack must
    # be deployed first; this one only checks at deploy time that it is there.
    # `config.accounts.log_policy_problems` checks that each account and region has exactly one owner.
    log_policy_owner: str | None = None
    # Use an existing domain instead of creating one: both or neither.
    existing_domain_endpoint: str | None = None
    existing_domain_arn: str | None = None

    @property
    def write_alias(self) -> str:
        """The alias the workers write through (exactly one index behind it)."""
        return f"{self.index_name}-write"

    @property
    def imported(self) -> bool:
        return self.existing_domain_endpoint is not None

    @property
    def configures_security_plugin(self) -> bool:
        """True when this app creates the domain with fine-grained access control, and so
        also maps the worker role inside OpenSearch at deploy time."""
        return self.fine_grained_access_control and not self.imported

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
        if self.configures_security_plugin and not self.admin_role_name:
            found.append(("admin_role_name", "must name the IAM role that administers the domain "
                                             "when fine_grained_access_control is on"))
        if self.admin_role_name is not None and not re.fullmatch(r"[\w+=,.@-]{1,64}",
                                                                 self.admin_role_name):
            found.append(("admin_role_name", "must be an IAM role name (no path, no ARN)"))
        if self.log_policy_owner is not None and not re.fullmatch(r"[a-z][a-z0-9]{0,19}",
                                                                  self.log_policy_owner):
            found.append(("log_policy_owner", "must be None or an environment's name"))
        if self.user_dictionary_package_id is not None and not re.fullmatch(
                r"F[0-9]+|pkg-[a-f0-9]+", self.user_dictionary_package_id):
            found.append(("user_dictionary_package_id",
                          "must be a custom package id like 'F123456789' (`aws opensearch "
                          "describe-packages`), not a name, path or ARN"))
        if self.user_dictionary_package_id is not None and self.imported:
            found.append(("user_dictionary_package_id",
                          "must be None for an existing domain: associate the package with it "
                          "and manage its index template there"))
        if self.tombstone_retention_days < 1:
            found.append(("tombstone_retention_days", "must be at least 1"))
        if self.index_shards < 1:
            found.append(("index_shards", "must be at least 1"))
        if not 0 <= self.index_replicas < self.data_node_count:
            found.append(("index_replicas", f"must be 0 to data_node_count - 1 "
                                            f"({self.data_node_count - 1}): a replica never "
                                            "shares its primary's node"))
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
