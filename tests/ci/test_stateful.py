"""The stateful-type table stays at least as strict as CloudFormation's own schemas."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from tools.stateful import REPLACEMENT_PROPERTIES, STATEFUL_TYPES, is_stateful

# cfn-lint's package folder, found without importing it: importing cfnlint takes most of a
# second, and each of `make test`'s processes collects this module.
SCHEMAS = Path(importlib.util.find_spec("cfnlint").submodule_search_locations[0]) / "data" / "schemas"


def create_only_properties(resource_type: str) -> set[str]:
    """Top-level createOnlyProperties (changing them replaces the resource) from the registry
    schema that cfn-lint bundles for us-east-1."""
    index = json.loads((SCHEMAS / "providers" / "us-east-1.json").read_text())
    schema = json.loads((SCHEMAS / "resources" / f"{index[resource_type]}.json").read_text())
    return {path.split("/")[2] for path in schema.get("createOnlyProperties", [])}


def test_every_stateful_type_has_a_replacement_table():
    assert set(REPLACEMENT_PROPERTIES) == STATEFUL_TYPES


def test_table_covers_the_registry_schemas_create_only_properties():
    missing = {t: create_only_properties(t) - REPLACEMENT_PROPERTIES[t] for t in STATEFUL_TYPES}
    assert not any(missing.values()), f"add to tools/stateful.py: {missing}"


def test_the_pipelines_data_holders_are_stateful_and_log_groups_are_not():
    for resource_type in ("AWS::S3::Bucket", "AWS::SQS::Queue", "AWS::KMS::Key",
                          "AWS::OpenSearchService::Domain"):
        assert is_stateful(resource_type)
    assert not is_stateful("AWS::Logs::LogGroup")
