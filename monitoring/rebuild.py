"""Recompute task counters from job rows and rollups from task rows: the repair path, set-based.

`manage.py rebuild_rollups` runs both. The maintained numbers must equal these (a test checks it).
"""

from collections import Counter, defaultdict
from itertools import combinations

from django.db import connection, transaction
from django.db.models import BigIntegerField, Count, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from tasks.engine.merge_moves import merged_deriv_jobs
from tasks.engine.moves import COUNTER_OF, EVENTS_OF
from tasks.engine.observers import failure_field
from tasks.models import TASK_COUNTER_FIELDS, Job, ProductionTask
from tasks.states import JobStatus, TaskStatus

from .models import Dimension, Rollup, SiteJobs, within
from .rollups import SITE_FIELDS, spread, task_keys

# The GROUP BY column of each dimension that is a plain column of the task (formats is a list: done apart).
DIMENSION_COLUMNS = {
    Dimension.REQUEST: "request_id",
    Dimension.GROUP: "group__name",
    Dimension.PROJECT: "project",
    Dimension.PTAG: "ptag__name",
}


def job_subquery(aggregate, **filters):
    jobs = Job.objects.filter(task=OuterRef("pk"), **filters).order_by().values("task")
    return Coalesce(Subquery(jobs.annotate(v=aggregate).values("v")[:1]), Value(0), output_field=BigIntegerField())


def recount_expressions() -> dict:
    exprs = {field: job_subquery(Count("pk"), status=status) for status, field in COUNTER_OF.items()}
    for job_type, field in EVENTS_OF.items():
        exprs[field] = job_subquery(Sum("nevents"), status=JobStatus.FINISHED, job_type=job_type)
    merged = merged_deriv_jobs().filter(task=OuterRef("pk")).order_by().values("task")
    exprs["events_merged"] = Coalesce(
        Subquery(merged.annotate(v=Sum("nevents")).values("v")[:1]), Value(0), output_field=BigIntegerField()
    )
    return exprs


def task_counters_rebuild(*, batch_size: int = 5000) -> int:
    """Every task's job counters and events from its jobs, in pk batches, one transaction each."""
    last, done = 0, 0
    while True:
        ids = list(ProductionTask.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return done
        with transaction.atomic():
            batch = ProductionTask.objects.filter(pk__gte=ids[0], pk__lte=ids[-1])
            # Lock first: a job move waiting on these rows adds its delta after our recount, never before.
            list(batch.select_for_update().values_list("pk", flat=True))
            batch.update(**recount_expressions())
        last, done = ids[-1], done + len(ids)


def aggregates() -> dict:
    sums = {f: Sum(f) for f in TASK_COUNTER_FIELDS}
    return sums | {f"tasks_{s}": Count("pk", filter=Q(status=s)) for s in TaskStatus.values}


def sums_by(column: str | None, *, queryset=None) -> dict[str, Counter]:
    tasks = (queryset if queryset is not None else ProductionTask.objects).order_by()
    if column is None:
        # An empty scope is still a row (of zeros), so a dashboard shows it rather than nothing.
        return {"": Counter({k: v or 0 for k, v in tasks.aggregate(**aggregates()).items()})}
    rows = tasks.values(column).annotate(**aggregates())
    return {str(r.pop(column) or ""): Counter({k: v or 0 for k, v in r.items()}) for r in rows}


def sums_within() -> dict[tuple, Counter]:
    """Every plain dimension's rows within each key of another (both ways), by GROUP BY on the task rows."""
    out: dict[tuple, Counter] = {}
    for (d1, c1), (d2, c2) in combinations(DIMENSION_COLUMNS.items(), 2):
        for r in ProductionTask.objects.order_by().values(c1, c2).annotate(**aggregates()):
            k1, k2 = str(r.pop(c1) or ""), str(r.pop(c2) or "")
            sums = Counter({k: v or 0 for k, v in r.items()})
            out[within(d1, k1, d2), k2] = sums
            out[within(d2, k2, d1), k1] = Counter(sums)
    return out


def sums_by_format(*, queryset=None) -> dict[tuple, Counter]:
    """Rows of the format dimension and of formats within other keys (and those within formats), from task rows
    read in Python: `formats` is a list."""
    out: dict[tuple, Counter] = defaultdict(Counter)
    tasks = (queryset if queryset is not None else ProductionTask.objects).order_by()
    columns = list(DIMENSION_COLUMNS.values())
    rows = tasks.values_list("formats", "status", *columns, *TASK_COUNTER_FIELDS)
    for formats, status, *values in rows.iterator(chunk_size=5000):
        keys, counters = values[: len(columns)], values[len(columns) :]
        delta = Counter(dict(zip(TASK_COUNTER_FIELDS, counters, strict=True)))
        delta[f"tasks_{status}"] += 1
        for f in set(formats or []):
            out[Dimension.FORMAT, f].update(delta)
            for d, k in zip(DIMENSION_COLUMNS, keys, strict=True):
                out[within(Dimension.FORMAT, f, d), str(k or "")].update(delta)
                out[within(d, str(k or ""), Dimension.FORMAT), f].update(delta)
    return out


def failures_by_key() -> dict[tuple, Counter]:
    per_task: dict[int, Counter] = defaultdict(Counter)
    rows = Job.objects.filter(status=JobStatus.FAILED).order_by().values_list("task_id", "error_class")
    for task_id, error_class, n in rows.annotate(n=Count("pk")).iterator(chunk_size=5000):
        per_task[task_id][failure_field(error_class)] += n
    ids = list(per_task)
    keys = {}
    for i in range(0, len(ids), 5000):
        keys |= task_keys(ids[i : i + 5000])
    return spread(per_task, keys)


def rollups_rebuild() -> int:
    """Replace every rollup row by sums over the task rows (and failures by class over failed jobs)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Job and task moves wait for us (they update rollups), so none is lost or counted twice.
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {Rollup._meta.db_table} IN EXCLUSIVE MODE")
        rows: dict[tuple, Counter] = {(Dimension.ALL, k): v for k, v in sums_by(None).items()}
        for dimension, column in DIMENSION_COLUMNS.items():
            rows |= {(dimension, k): v for k, v in sums_by(column).items()}
        rows |= sums_within() | sums_by_format()
        for key, failures in failures_by_key().items():
            rows.setdefault(key, Counter()).update(failures)
        Rollup.objects.all().delete()
        Rollup.objects.bulk_create([Rollup(dimension=d, key=k, **dict(c)) for (d, k), c in sorted(rows.items())])
    site_jobs_rebuild()
    return len(rows)


def site_jobs_rebuild() -> int:
    """Replace the ledger of brokered jobs per site by a count of the job rows (the active-jobs index)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Moves append to the ledger after their UPDATE: they wait for us, and their delta lands on our count.
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {SiteJobs._meta.db_table} IN EXCLUSIVE MODE")
        active = Job.objects.filter(status__in=list(SITE_FIELDS), site__isnull=False).order_by()
        sums: dict[int, Counter] = defaultdict(Counter)
        for site_id, status, n in active.values_list("site_id", "status").annotate(n=Count("pk")):
            sums[site_id][SITE_FIELDS[status]] += n
        SiteJobs.objects.all().delete()
        SiteJobs.objects.bulk_create([SiteJobs(site_id=s, **dict(c)) for s, c in sorted(sums.items())])
    return len(sums)
