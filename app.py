#!/usr/bin/env python3
"""CDK entry point: the only place that reads context or environment variables.

    cdk synth '**'                 all environments (dev, staging, prod)
    cdk synth -c env=prod '**'     only prod (comma-separated list allowed)
"""

from __future__ import annotations

import sys

from aws_cdk import App

from config import ConfigError
from environments import environments_named
from stacks.ingestion_stage import compose_app


def main() -> None:
    app = App()
    selected = app.node.try_get_context("env")
    names = [n.strip() for n in str(selected).split(",") if n.strip()] if selected else None
    try:
        configs = environments_named(names)
    except ConfigError as error:
        sys.exit(f"error: {error}")
    compose_app(app, configs)
    app.synth()


if __name__ == "__main__":
    main()
