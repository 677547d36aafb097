"""CloudWatch Logs retention periods: the one list of allowed values, in days.

Configuration speaks days; CDK speaks an enum, which the stacks convert to
(stacks/shared/cdk_values.py checks at import that it covers exactly these).
"""

from __future__ import annotations

LOG_RETENTION_DAYS_ALLOWED = frozenset({
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
})
