"""One environment of the pipeline: a CDK Stage composed the same way for dev, staging, prod."""

from __future__ import annotations

from aws_cdk import App, Environment, Stage, Tags

from environments import EnvironmentConfig
from pipeline_constructs.synthesis_checks import add_synthesis_checks
from stacks.stateful_stack import StatefulStack


class IngestionStage(Stage):
    """Stacks of one environment; their paths are `<env>/<Stack>`, e.g. `prod/Stateful`."""

    def __init__(self, scope: App, *, config: EnvironmentConfig) -> None:
        super().__init__(
            scope,
            config.name,
            env=Environment(account=config.account, region=config.region),
        )
        Tags.of(self).add("project", "file-search-ingestion")
        Tags.of(self).add("environment", config.name)
        self.stateful = StatefulStack(
            self,
            "Stateful",
            config=config,
            stack_name=f"file-search-{config.name}-stateful",
            description=f"File-search ingestion ({config.name}): raw bucket, ingest queue, DLQ",
        )


def compose_app(app: App, configs: list[EnvironmentConfig]) -> dict[str, IngestionStage]:
    """Add one stage per environment and the synthesis checks; the single way to build the app."""
    stages = {config.name: IngestionStage(app, config=config) for config in configs}
    add_synthesis_checks(app)
    return stages
