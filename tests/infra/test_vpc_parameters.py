"""The ids another stack's function names literally (stacks/shared/vpc_parameters.py): what is
published, and how a consumer names it, for a CDK-created VPC and for an existing one."""

from __future__ import annotations

from aws_cdk import Aws

from stacks.shared.vpc_parameters import (
    consumer_subnet_ids,
    consumer_vpc_id,
    dynamic_reference,
    subnet_values,
)


def test_created_subnets_are_published_and_named_by_dynamic_reference():
    created = [Aws.ACCOUNT_ID, Aws.REGION]  # tokens, as a CDK-created subnet's id is
    assert subnet_values(created) == {"isolated-subnet-0": Aws.ACCOUNT_ID, "isolated-subnet-1": Aws.REGION}
    assert consumer_subnet_ids("file-search-dev", created) == [
        "{{resolve:ssm:/file-search-dev/network/isolated-subnet-0}}",
        "{{resolve:ssm:/file-search-dev/network/isolated-subnet-1}}",
    ]


def test_an_existing_vpcs_subnets_stay_literal_and_are_not_published():
    given = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
    assert subnet_values(given) == {}
    assert consumer_subnet_ids("file-search-qa", given) == given


def test_parameters_are_under_the_environments_prefix():
    assert dynamic_reference("file-search-prod", "search-settings-security-group") == (
        "{{resolve:ssm:/file-search-prod/network/search-settings-security-group}}")


def test_the_vpc_id_is_a_dynamic_reference_when_created_and_literal_when_given():
    assert consumer_vpc_id("file-search-dev", Aws.ACCOUNT_ID) == "{{resolve:ssm:/file-search-dev/network/vpc-id}}"
    assert consumer_vpc_id("file-search-qa", "vpc-0123456789abcdef0") == "vpc-0123456789abcdef0"
