"""Rollups of task counters per request, group, project and format (the dashboards' source).

`tasks.jobstate` calls these hooks inside the transaction that changes the task rows, so rollups move
with the counters they sum.
"""

from collections import Counter


def on_task_counters(deltas: dict[int, Counter]) -> None:
    """Task counters changed by `deltas` (task id -> {counter field: change})."""


def on_task_status(changes: dict[int, tuple[str, str]]) -> None:
    """Tasks changed status (task id -> (old, new))."""
