"""The checks every synthesis runs: cdk-nag, AWS Control Tower's proactive controls and the
notification guard (one notification path from the bucket to the queue)."""
