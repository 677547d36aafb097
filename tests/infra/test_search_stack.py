"""Search stack: the OpenSearch domain, in every environment (the workers' index-write policy is
checked with the rest of their permissions in test_fleet_stack.py)."""

from __future__ import annotations

from environments import ENVIRONMENTS
from tests.support.templates import only_resource


def search_domain(synthesized, env: str) -> dict:
    return only_resource(synthesized.templates[env]["Search"], "AWS::OpenSearchService::Domain")[1]


def test_search_domain_is_private_encrypted_and_sized_from_config(synthesized, env):
    settings = ENVIRONMENTS[env].search
    domain = search_domain(synthesized, env)
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
    cluster = search_domain(synthesized, "prod")["Properties"]["ClusterConfig"]
    assert cluster["DedicatedMasterCount"] == 3
    assert cluster["ZoneAwarenessConfig"] == {"AvailabilityZoneCount": 2}

