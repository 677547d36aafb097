"""The fleet stack: the workers' Auto Scaling group, their boot script, and the domain's fine-grained access."""
