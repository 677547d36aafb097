"""The alerts stack: the SNS topics alarms notify."""
