"""Constructs several stacks use: KMS keys, log-group encryption, the ops outputs."""
