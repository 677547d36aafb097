"""Stacks only compose constructs from `pipeline_constructs`; the stage composes stacks."""
