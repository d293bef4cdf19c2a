"""Rollups of task counters per request, group, project, format and p-tag (the dashboards' source).

`tasks.jobstate` calls these hooks inside the transaction that changes the task rows, so rollups move with the
counters they sum. Deltas of a batch are aggregated per rollup row first, then applied with one UPDATE per row, in
a fixed order (no deadlocks between two batches).

Registration must call `on_tasks_created(tasks)` after `bulk_create` (same transaction) so that new tasks count.
Anything that changes a task counter outside `tasks.jobstate` must go through `jobstate.apply_task_deltas`.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from deft.models import PhysicsGroup
from requests_app.models import PTag
from tasks.models import ErrorClass, ProductionTask

from .models import ROLLUP_FIELDS, Dimension, Rollup

Key = tuple[str, str]  # (dimension, key)


def keys_of(request_id, group: str, project: str, ptag: str, formats) -> list[Key]:
    """Every rollup row a task counts in: a task with several formats counts in each of them."""
    keys = [
        (Dimension.ALL, ""),
        (Dimension.REQUEST, str(request_id)),
        (Dimension.GROUP, group),
        (Dimension.PROJECT, project or ""),
        (Dimension.PTAG, ptag),
    ]
    return keys + [(Dimension.FORMAT, f) for f in sorted(set(formats or []))]


def task_keys(task_ids: Iterable[int]) -> dict[int, list[Key]]:
    rows = ProductionTask.objects.filter(pk__in=list(task_ids)).values_list(
        "pk", "request_id", "group__name", "project", "ptag__name", "formats"
    )
    return {pk: keys_of(*rest) for pk, *rest in rows}


def failure_field(error_class: str | None) -> str:
    return f"failed_{error_class if error_class in ErrorClass.values else ErrorClass.UNKNOWN}"


def apply(deltas: dict[Key, Counter]) -> None:
    """One UPDATE per rollup row; rows missing (a task registered before rollups existed) are created first."""
    deltas = {k: d for k, d in deltas.items() if any(d.values())}
    if not deltas:
        return
    ensure_rows(deltas.keys())
    now = timezone.now()
    for (dimension, key), delta in sorted(deltas.items()):
        changes = {f: F(f) + n for f, n in delta.items() if n and f in ROLLUP_FIELDS}
        Rollup.objects.filter(dimension=dimension, key=key).update(updated=now, **changes)


def ensure_rows(keys: Iterable[Key]) -> None:
    keys = set(keys)
    dims = {d for d, _ in keys}
    existing = set(
        Rollup.objects.filter(dimension__in=dims, key__in={k for _, k in keys}).values_list("dimension", "key")
    )
    missing = keys - existing
    if missing:
        Rollup.objects.bulk_create([Rollup(dimension=d, key=k) for d, k in sorted(missing)], ignore_conflicts=True)


def spread(per_task: dict[int, Counter], keys: dict[int, list[Key]]) -> dict[Key, Counter]:
    # Tasks sharing their keys (those of one request, mostly) are summed first: a bulk action on thousands of
    # tasks then costs one Counter per distinct key list, not one per task and key.
    by_keys: dict[tuple, Counter] = defaultdict(Counter)
    for task_id, delta in per_task.items():
        by_keys[tuple(keys.get(task_id, ()))].update(delta)
    out: dict[Key, Counter] = defaultdict(Counter)
    for task_keys_, delta in by_keys.items():
        for key in task_keys_:
            out[key].update(delta)
    return out


def on_task_counters(deltas: dict[int, Counter]) -> None:
    """Task counters changed by `deltas` (task id -> {counter field: change}); may carry `failed_<class>` too."""
    on_task_changes(counters=deltas)


def on_task_status(changes: dict[int, tuple[str, str]]) -> None:
    """Tasks changed status (task id -> (old, new))."""
    on_task_changes(statuses=changes)


def on_task_changes(*, counters: dict[int, Counter] | None = None, statuses: dict | None = None) -> None:
    """Both hooks at once, for a batch that moves tasks and their counters together: one read of the tasks'
    keys and one UPDATE per rollup row, instead of one of each per hook."""
    per_task: dict[int, Counter] = defaultdict(Counter)
    for task_id, delta in (counters or {}).items():
        per_task[task_id].update(delta)
    for task_id, (old, new) in (statuses or {}).items():
        if old != new:
            per_task[task_id].update({f"tasks_{old}": -1, f"tasks_{new}": 1})
    per_task = {t: d for t, d in per_task.items() if any(d.values())}
    if per_task:
        apply(spread(per_task, task_keys(per_task)))


def on_tasks_created(tasks: Iterable[ProductionTask]) -> None:
    """New task rows (e.g. from `bulk_create`): count them in their rollups. Call in the registering transaction."""
    tasks = list(tasks)
    if not tasks:
        return
    with transaction.atomic():
        groups = dict(PhysicsGroup.objects.filter(pk__in={t.group_id for t in tasks}).values_list("pk", "name"))
        ptags = dict(PTag.objects.filter(pk__in={t.ptag_id for t in tasks}).values_list("pk", "name"))
        keys = {t.pk: keys_of(t.request_id, groups[t.group_id], t.project, ptags[t.ptag_id], t.formats) for t in tasks}
        per_task = {}
        for t in tasks:
            delta = Counter({f: getattr(t, f) for f in ROLLUP_FIELDS if f.startswith(("events_", "jobs_"))})
            delta[f"tasks_{t.status}"] += 1
            per_task[t.pk] = delta
        apply(spread(per_task, keys))
