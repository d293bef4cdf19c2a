"""Rollups of task counters per request, group, project, format and p-tag (the dashboards' source).

`tasks.jobstate` calls these hooks inside the transaction that changes the task rows, so rollups move with the
counters they sum. Deltas of a batch are aggregated per rollup row first, then applied with one UPDATE per row, in
a fixed order (no deadlocks between two batches).

Registration must call `on_tasks_created(tasks)` after `bulk_create` (or `on_task_rows_created(rows)` after a bulk
insert of rows), in the same transaction, so that new tasks count.
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


def spread(per_task: dict, keys: dict) -> dict[Key, Counter]:
    out: dict[Key, Counter] = defaultdict(Counter)
    for task_id, delta in per_task.items():
        for key in keys.get(task_id, ()):
            out[key].update(delta)
    return out


def on_task_counters(deltas: dict[int, Counter]) -> None:
    """Task counters changed by `deltas` (task id -> {counter field: change}); may carry `failed_<class>` too."""
    deltas = {t: d for t, d in deltas.items() if any(d.values())}
    if deltas:
        apply(spread(deltas, task_keys(deltas)))


def on_task_status(changes: dict[int, tuple[str, str]]) -> None:
    """Tasks changed status (task id -> (old, new))."""
    per_task = {
        pk: Counter({f"tasks_{old}": -1, f"tasks_{new}": 1}) for pk, (old, new) in changes.items() if old != new
    }
    if per_task:
        apply(spread(per_task, task_keys(per_task)))


def on_tasks_created(tasks: Iterable[ProductionTask]) -> None:
    """New task rows (e.g. from `bulk_create`): count them in their rollups. Call in the registering transaction."""
    fields = ("request_id", "group_id", "project", "ptag_id", "formats", "status", *_CREATED_COUNTERS)
    on_task_rows_created([{f: getattr(t, f) for f in fields} for t in tasks])


# The counters a new task may start with (its events_total, mostly): what a task counts in when it is created.
_CREATED_COUNTERS = tuple(f for f in ROLLUP_FIELDS if f.startswith(("events_", "jobs_")))


def on_task_rows_created(rows: Iterable[dict]) -> None:
    """New tasks given as the rows they were inserted from (ProductionTask attnames, e.g. for `bulk_insert`);
    a counter or status missing from a row is the field's default. Call in the registering transaction."""
    rows = list(rows)
    if not rows:
        return
    defaults = {f: ProductionTask._meta.get_field(f).get_default() for f in (*_CREATED_COUNTERS, "status")}
    # The tasks of a request share their rollup rows: sum them per set of keys first (a handful for 10,000 tasks),
    # so the spreading below is per set, not per task.
    per_signature: dict[tuple, Counter] = defaultdict(Counter)
    for row in rows:
        formats = tuple(sorted(set(row["formats"] or ())))
        delta = per_signature[row["request_id"], row["group_id"], row.get("project") or "", row["ptag_id"], formats]
        for f in _CREATED_COUNTERS:
            delta[f] += row.get(f, defaults[f]) or 0
        delta[f"tasks_{row.get('status', defaults['status'])}"] += 1
    with transaction.atomic():
        signatures = list(per_signature)
        groups = dict(PhysicsGroup.objects.filter(pk__in={s[1] for s in signatures}).values_list("pk", "name"))
        ptags = dict(PTag.objects.filter(pk__in={s[3] for s in signatures}).values_list("pk", "name"))
        keys = {s: keys_of(s[0], groups[s[1]], s[2], ptags[s[3]], s[4]) for s in signatures}
        apply(spread(per_signature, keys))
