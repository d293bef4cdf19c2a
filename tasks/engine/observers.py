"""Who follows task and job moves inside their transaction: the dashboards' rollups, connected at start-up.

The engine sits below the monitoring app in the layer order, so it cannot import the rollups; the monitoring app
connects them here when Django starts (`monitoring.apps`). An observer is any object with the `on_*` methods below;
every one connected is called, in the moving transaction, so what it keeps moves with the counters it follows.
"""

from collections import Counter
from collections.abc import Iterable

from tasks.models import ErrorClass

EVENTS = (
    "on_task_counters",  # (deltas: {task id: Counter of counter fields})
    "on_task_status",  # (changes: {task id: (old status, new status)})
    "on_task_changes",  # (changes, deltas, signatures): a status move with counters, signatures known
    "on_tasks_created",  # (tasks: model instances just created)
    "on_task_rows_created",  # (rows: dicts of task rows just inserted)
    "on_jobs_moved",  # (rows, target, sites=...)
    "on_jobs_cancelled",  # (rows)
)
_observers: list = []


def observers_connect(observer) -> None:
    """Add an observer once (an app's `ready` may run twice in tests)."""
    missing = [name for name in EVENTS if not callable(getattr(observer, name, None))]
    if missing:
        raise TypeError(f"{observer!r} lacks {', '.join(missing)}")
    if observer not in _observers:
        _observers.append(observer)


def notify(event: str, *args, **kwargs) -> None:
    for observer in _observers:
        getattr(observer, event)(*args, **kwargs)


Signature = tuple  # (request id, group id, project, p-tag id, sorted formats): what a task's rollup keys depend on


def signature_of(request_id, group_id, project, ptag_id, formats) -> Signature:
    return (request_id, group_id, project or "", ptag_id, tuple(sorted(set(formats or ()))))


def failure_field(error_class: str | None) -> str:
    """The counter of failures of one class (`failed_<class>`), kept by the rollups only."""
    return f"failed_{error_class if error_class in ErrorClass.values else ErrorClass.UNKNOWN}"


def count_failures(deltas: dict[int, Counter], failures: Iterable[tuple[int, str | None]]) -> None:
    for task_id, error_class in failures:
        deltas[task_id][failure_field(error_class)] += 1
