"""Rollups of task counters per request, group, project, format and p-tag (the dashboards' source).

The engine's moves (`tasks.engine.moves`) call these hooks through the observers that `monitoring.apps`
connects, inside the transaction that changes the task rows, so rollups move with the counters they sum. Deltas
of a batch are aggregated per rollup row first, then applied with one UPDATE per row, in a fixed order (no
deadlocks between two batches).

Job moves on sites (`on_jobs_moved`, `on_jobs_cancelled`) append to the `SiteJobs` ledger of brokered jobs.

Registration must call `on_tasks_created(tasks)` after `bulk_create` (or `on_task_rows_created(rows)` after a bulk
insert of rows), in the same transaction, so that new tasks count.
Anything that changes a task counter outside `tasks.engine.moves` must go through `moves.apply_task_deltas`.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from deft.models import PhysicsGroup
from requests_app.models import PTag
from tasks.engine.observers import Signature, signature_of
from tasks.models import Job, ProductionTask
from tasks.states import JobStatus

from .models import ROLLUP_FIELDS, Dimension, Rollup, SiteJobs, within

Key = tuple[str, str]  # (dimension, key)


def keys_of(request_id, group: str, project: str, ptag: str, formats) -> list[Key]:
    """Every rollup row a task counts in: a task with several formats counts in each of them; and, for filtered
    summaries, each of its keys within each of its other keys (its group's row within its request, ...)."""
    own = [
        (Dimension.REQUEST, str(request_id)),
        (Dimension.GROUP, group),
        (Dimension.PROJECT, project or ""),
        (Dimension.PTAG, ptag),
    ]
    own += [(Dimension.FORMAT, f) for f in sorted(set(formats or []))]
    pairs = [(within(d1, k1, d2), k2) for d1, k1 in own for d2, k2 in own if d1 != d2]
    return [(Dimension.ALL, ""), *own, *pairs]


def task_signatures(task_ids: Iterable[int]) -> dict[int, Signature]:
    tasks = ProductionTask.objects.filter(pk__in=list(task_ids)).order_by()
    fields = ("request_id", "group_id", "project", "ptag_id", "formats")
    if connection.vendor != "postgresql":
        return {pk: signature_of(*rest) for pk, *rest in tasks.values_list("pk", *fields)}
    # Grouped in the database: a handful of rows (and of formats lists to decode) for thousands of tasks.
    grouped = tasks.values_list(*fields).annotate(ids=ArrayAgg("pk"))
    return {pk: signature_of(*rest) for *rest, ids in grouped for pk in ids}


def signature_keys(signatures: Iterable[Signature]) -> dict[Signature, list[Key]]:
    """The rollup keys of each signature: the tasks of a request share a handful, so keys are built per
    signature (with two small name lookups), not per task."""
    signatures = set(signatures)
    groups = dict(PhysicsGroup.objects.filter(pk__in={s[1] for s in signatures}).values_list("pk", "name"))
    ptags = dict(PTag.objects.filter(pk__in={s[3] for s in signatures}).values_list("pk", "name"))
    return {s: keys_of(s[0], groups.get(s[1], ""), s[2], ptags.get(s[3], ""), s[4]) for s in signatures}


def task_keys(task_ids: Iterable[int]) -> dict[int, list[Key]]:
    signatures = task_signatures(task_ids)
    keys = signature_keys(signatures.values())
    return {pk: keys[signature] for pk, signature in signatures.items()}


def apply(deltas: dict[Key, Counter]) -> None:
    """One UPDATE per rollup row; rows missing (a task registered before rollups existed) are created first."""
    deltas = {k: d for k, d in deltas.items() if any(d.values())}
    if not deltas:
        return
    ensure_rows(deltas.keys())
    now = timezone.now()
    if connection.vendor == "postgresql" and len(deltas) > 1:
        apply_at_once(deltas, now)
        return
    for (dimension, key), delta in sorted(deltas.items()):
        changes = {f: F(f) + n for f, n in delta.items() if n and f in ROLLUP_FIELDS}
        Rollup.objects.filter(dimension=dimension, key=key).update(updated=now, **changes)


def apply_at_once(deltas: dict[Key, Counter], now) -> None:
    """PostgreSQL: lock the rows in one order (no deadlock between two batches), then one UPDATE ... FROM unnest."""
    keys = sorted(deltas)
    fields = sorted({f for d in deltas.values() for f, n in d.items() if n and f in ROLLUP_FIELDS})
    if not fields:
        return
    table = Rollup._meta.db_table
    dims, names = [d for d, _ in keys], [k for _, k in keys]
    arrays = ", ".join(["%s::bigint[]"] * len(fields))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT r.id FROM {table} r JOIN unnest(%s::text[], %s::text[]) AS v(dimension, key)"
            " ON r.dimension = v.dimension AND r.key = v.key ORDER BY r.id FOR UPDATE OF r",
            [dims, names],
        )
        cursor.execute(
            f"UPDATE {table} r SET updated = %s, {', '.join(f'{f} = r.{f} + v.{f}' for f in fields)}"
            f" FROM unnest(%s::text[], %s::text[], {arrays}) AS v(dimension, key, {', '.join(fields)})"
            " WHERE r.dimension = v.dimension AND r.key = v.key",
            [now, dims, names, *([deltas[k][f] for k in keys] for f in fields)],
        )


def ensure_rows(keys: Iterable[Key]) -> None:
    keys = set(keys)
    dims = {d for d, _ in keys}
    existing = set(
        Rollup.objects.filter(dimension__in=dims, key__in={k for _, k in keys}).values_list("dimension", "key")
    )
    missing = keys - existing
    if missing:
        Rollup.objects.bulk_create([Rollup(dimension=d, key=k) for d, k in sorted(missing)], ignore_conflicts=True)


def spread(per_task: dict[Any, Counter], keys: dict[Any, list[Key]]) -> dict[Key, Counter]:
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


def on_task_changes(
    *, counters: dict[int, Counter] | None = None, statuses: dict | None = None, signatures: dict | None = None
) -> None:
    """Both hooks at once, for a batch that moves tasks and their counters together: one read of the tasks'
    keys and one UPDATE per rollup row, instead of one of each per hook. A caller that has the tasks'
    `signatures` (task id -> `signature_of(...)`) at hand spares the read."""
    counters = {t: d for t, d in (counters or {}).items() if any(d.values())}
    statuses = {t: (old, new) for t, (old, new) in (statuses or {}).items() if old != new}
    if not counters and not statuses:
        return
    if signatures is None:
        signatures = task_signatures(counters.keys() | statuses.keys())
    summed: dict[Signature, Counter] = defaultdict(Counter)  # tasks no longer in the table count nowhere
    for task_id, delta in counters.items():
        if (signature := signatures.get(task_id)) is not None:
            summed[signature].update(delta)
    for task_id, (old, new) in statuses.items():
        if (signature := signatures.get(task_id)) is not None:
            delta = summed[signature]
            delta[f"tasks_{old}"] -= 1
            delta[f"tasks_{new}"] += 1
    apply(spread(summed, signature_keys(summed)))


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
    summed: dict[Signature, Counter] = defaultdict(Counter)
    for row in rows:
        signature = signature_of(row["request_id"], row["group_id"], row.get("project"), row["ptag_id"], row["formats"])
        delta = summed[signature]
        for f in _CREATED_COUNTERS:
            delta[f] += row.get(f, defaults[f]) or 0
        delta[f"tasks_{row.get('status', defaults['status'])}"] += 1
    with transaction.atomic():
        apply(spread(summed, signature_keys(summed)))


# --- brokered jobs per site -----------------------------------------------------------------------------------

SITE_FIELDS = {JobStatus.ASSIGNED: "jobs_assigned", JobStatus.RUNNING: "jobs_running"}
FOLDED = tuple(SITE_FIELDS.values())


def on_jobs_moved(rows, target: str, *, sites: dict[int, int | None] | None = None) -> None:
    """Jobs moved to `target`; `rows` are the moves' (id, task id, old status, ...). Call after the UPDATE, in
    its transaction. `sites` (job id -> site id) spares reading them back; without it (an `assign` sets the
    site in its UPDATE) they are read from the moved jobs."""
    touched = [pk for pk, _task, old, *_ in rows if old in SITE_FIELDS or target in SITE_FIELDS]
    if not touched:
        return
    if sites is None:
        sites = dict(Job.objects.filter(pk__in=touched, site__isnull=False).values_list("pk", "site_id"))
    per_site: dict[int, Counter] = defaultdict(Counter)
    for pk, _task, old, *_ in rows:
        if sites.get(pk) is not None:
            per_site[sites[pk]][SITE_FIELDS.get(old)] -= 1
            per_site[sites[pk]][SITE_FIELDS.get(target)] += 1
    site_jobs_add(per_site)


def on_jobs_cancelled(rows) -> None:
    """Jobs cancelled in bulk: `rows` are (task id, old status, site id, count)."""
    per_site: dict[int, Counter] = defaultdict(Counter)
    for _task, old, site_id, n in rows:
        if site_id is not None:
            per_site[site_id][SITE_FIELDS.get(old)] -= n
    site_jobs_add(per_site)


def site_jobs_add(per_site: dict[int, Counter]) -> None:
    rows = []
    for site_id, delta in sorted(per_site.items()):
        delta.pop(None, None)  # statuses the sites page does not count (defined, finished, ...)
        if any(delta.values()):
            rows.append(SiteJobs(site_id=site_id, **delta))
    SiteJobs.objects.bulk_create(rows)


def site_jobs_fold() -> int:
    """Fold the ledger into one row per site (the minute beat); rows appended meanwhile stay for the next fold."""
    with transaction.atomic():
        rows = list(SiteJobs.objects.select_for_update().order_by("pk").values_list("pk", "site_id", *FOLDED))
        if len(rows) <= len({r[1] for r in rows}):
            return 0  # already one row per site
        sums: dict[int, Counter] = defaultdict(Counter)
        for _pk, site_id, *values in rows:
            sums[site_id].update(dict(zip(FOLDED, values, strict=True)))
        SiteJobs.objects.filter(pk__in=[r[0] for r in rows]).delete()
        SiteJobs.objects.bulk_create([SiteJobs(site_id=s, **dict(c)) for s, c in sorted(sums.items())])
    return len(rows)
