"""One package per stack: `stacks/<stack>/stack.py` and the constructs only that stack uses.

`shared/` holds what several stacks use (keys, log encryption, the ops outputs); the stage
(`ingestion_stage.py`) composes the stacks. The constructs are not in a top-level package named
`constructs`: it would shadow the `constructs` library that aws-cdk-lib imports
(ModuleNotFoundError: constructs._jsii).
"""
