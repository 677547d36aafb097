"""Reusable constructs of the ingestion pipeline.

Not named `constructs`: a top-level package of that name would shadow the `constructs`
library that aws-cdk-lib imports (ModuleNotFoundError: constructs._jsii).
"""
