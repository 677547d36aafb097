"""The fleet stack: the workers' Auto Scaling group and boot script, and the search domain's
fine-grained access (its settings need the worker role)."""
