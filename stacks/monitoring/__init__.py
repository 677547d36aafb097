"""The monitoring stack: metric filters, alarms, change watch and the dashboard."""
