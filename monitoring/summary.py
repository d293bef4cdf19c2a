"""How far, how fast, what is wrong: the overall progress for the whole production or a slice of it.

Unfiltered and single-filter scopes are read from rollup rows (and the samples of the last hour for throughput,
ETA and failures in the last hour); the breakdowns inside one filter from the rows `within` its key. Combined
filters sum the task counters of the matching tasks (task rows, never job rows).
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.db.models import OuterRef, Subquery
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.functional import cached_property

from deft.models import PhysicsGroup
from requests_app.models import ProductionRequest, PTag
from tasks.filtersets import TaskFilterSet
from tasks.models import ProductionTask, done_fraction
from tasks.states import TASK_ACTIVE, TaskStatus

from .models import TASK_STATUS_FIELDS, Dimension, Rollup, Sample, within
from .rebuild import sums_by, sums_by_format

FILTERS = ("group", "project", "request", "ptag", "format")
BREAKDOWNS = (Dimension.PROJECT, Dimension.REQUEST, Dimension.GROUP, Dimension.FORMAT, Dimension.PTAG)
WINDOW = timedelta(hours=1)
MAX_ROWS = 25  # per breakdown table (requests: the most recently active)
MAX_TASKS_FOR_FORMATS = 5_000  # a filtered format breakdown reads task rows in Python: bounded
NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


class BadFilter(ValueError):
    """A filter value that is malformed or names nothing we know (the message says which and why)."""


# Input events (total, processed by deriv jobs, merged: the progress) and events in merged outputs.
EVENT_FIELDS = ("events_total", "events_processed", "events_merged", "events_done")


@dataclass
class Row:
    """One line of a dashboard: a scope's counters, its tasks by status, and what the last hour says."""

    dimension: str
    key: str
    label: str
    query: dict
    counters: dict
    tasks: dict
    failed_by_class: dict
    failed_last_hour: int | None = None
    finished_last_hour: int | None = None
    throughput: float | None = None  # input events whose outputs got merged, per hour
    eta: datetime | None = None
    segments: list = field(default_factory=list)

    @property
    def progress(self) -> float:
        return done_fraction(self.counters.get("events_merged", 0), self.counters.get("events_total", 0))

    @property
    def tasks_total(self) -> int:
        return sum(self.tasks.values())

    @property
    def tasks_active(self) -> int:
        """Tasks that can still add events: with none, the scope has ended whatever its fraction."""
        return sum(n for status, n in self.tasks.items() if status in TASK_ACTIVE)

    @property
    def event_segments(self) -> list[tuple[str, float, int]]:
        """(css class, percent, input events): merged, processed but not merged yet, not processed."""
        total = self.counters.get("events_total", 0)
        done = min(self.counters.get("events_merged", 0), total)
        processed = min(max(self.counters.get("events_processed", 0) - done, 0), total - done)
        parts = [("done", done), ("running", processed), ("other", total - done - processed)]
        return [(css, 100 * n / total, n) for css, n in parts if n] if total else []

    @property
    def task_segments(self) -> list[tuple[str, float, int]]:
        """(status, percent, tasks) in the order of the task's life, for a stacked bar."""
        total = self.tasks_total
        return [(s, 100 * self.tasks[s] / total, self.tasks[s]) for s in TASK_STATUSES if self.tasks.get(s)]

    @cached_property
    def href(self) -> str:
        """The task list filtered to this row (append `&status=...` for one status)."""
        return f"{TASK_LIST}?{urlencode(self.query)}"

    def link(self, **extra) -> str:
        return f"{TASK_LIST}?{urlencode({**self.query, **extra})}"

    def as_dict(self) -> dict:
        return {
            "dimension": self.dimension,
            "key": self.key,
            "label": self.label,
            "progress": round(self.progress, 6),
            **{k: self.counters.get(k, 0) for k in EVENT_FIELDS},
            "tasks_total": self.tasks_total,
            "tasks": self.tasks,
            "jobs": {s: self.counters.get(f"jobs_{s}", 0) for s in JOB_STATES},
            "jobs_running": self.counters.get("jobs_running", 0),
            "jobs_failed_last_hour": self.failed_last_hour,
            "jobs_finished_last_hour": self.finished_last_hour,
            "failed_by_class": self.failed_by_class,
            "throughput_events_per_hour": None if self.throughput is None else round(self.throughput, 1),
            "eta": self.eta.isoformat() if self.eta else None,
            "tasks_url": self.href,
        }


TASK_STATUSES = tuple(TaskStatus.values)
TASK_LIST = reverse_lazy("task-list")
JOB_STATES = ("defined", "assigned", "running", "finished", "failed", "cancelled")


def parse_filters(params) -> dict:
    """The summary's filters from query parameters; unknown parameters and values raise BadFilter."""
    unknown = sorted(set(params) - set(FILTERS))
    if unknown:
        raise BadFilter(f"unknown filter {', '.join(unknown)}; expected some of: {', '.join(FILTERS)}")
    filters = {k: params.get(k, "").strip() for k in FILTERS if params.get(k, "").strip()}
    for name, value in filters.items():
        CHECKS[name](value)
    return filters


def check_request(value):
    if not value.isdigit():
        raise BadFilter(f"request: expected a request number, got {value!r}")
    if not ProductionRequest.objects.filter(pk=int(value)).exists():
        raise BadFilter(f"request: there is no request {value}")


def check_named(label, exists):
    def check(value):
        if not NAME.match(value):
            raise BadFilter(f"{label}: {value!r} is not a valid name (letters, digits, _ . -)")
        if not exists(value):
            raise BadFilter(f"{label}: unknown {label} {value!r}")

    return check


def known_format(value) -> bool:
    if Rollup.objects.filter(dimension=Dimension.FORMAT, key=value).exists():
        return True
    return any(value in formats for formats in PTag.objects.values_list("formats", flat=True))


CHECKS = {
    "request": check_request,
    "group": check_named("group", lambda v: PhysicsGroup.objects.filter(name=v).exists()),
    "ptag": check_named("ptag", lambda v: PTag.objects.filter(name=v).exists()),
    "project": check_named(
        "project",
        lambda v: (
            Rollup.objects.filter(dimension=Dimension.PROJECT, key=v).exists()
            or ProductionTask.objects.filter(project=v).exists()
        ),
    ),
    "format": check_named("format", known_format),
}


def summary(*, filters: dict, now: datetime | None = None) -> dict:
    """The scope's totals and its breakdowns per project, request, group, format and p-tag."""
    now = now or timezone.now()
    if not filters:
        return {"filters": filters, "now": now, **unfiltered(now)}
    if len(filters) == 1:
        ((dimension, key),) = filters.items()
        scope = rows_of(with_bases(Rollup.objects.filter(dimension=dimension, key=key), now), now, filters)
        scope = scope[0] if scope else row_of(dimension, key, {}, filters)
        return {"filters": filters, "scope": scope, "breakdowns": breakdowns_within(dimension, key), "now": now}
    scope = task_sum_rows(filters, None)[0]
    breakdowns = {d: filtered_breakdown(d, filters) for d in BREAKDOWNS if d not in filters}
    return {"filters": filters, "scope": scope, "breakdowns": breakdowns, "now": now}


def breakdowns_within(dimension: str, key: str) -> dict[str, list[Row]]:
    """The other dimensions' rows within one filter: two reads of rollup rows (requests: the most recently active)."""
    others = [d for d in BREAKDOWNS if d != dimension]
    small = [within(dimension, key, d) for d in others if d != Dimension.REQUEST]
    rows = list(Rollup.objects.filter(dimension__in=small).order_by("dimension", "key"))
    if Dimension.REQUEST in others:
        requests = Rollup.objects.filter(dimension=within(dimension, key, Dimension.REQUEST))
        rows += list(requests.order_by("-updated", "key")[:MAX_ROWS])
    by_dimension: dict[str, list[Row]] = {d: [] for d in others}
    for r in rows:
        breakdown = r.dimension.rsplit("|", 1)[1]
        if len(by_dimension[breakdown]) < MAX_ROWS:
            by_dimension[breakdown].append(row_of(breakdown, r.key, r.__dict__, {dimension: key}))
    return by_dimension


def unfiltered(now) -> dict:
    """Two reads of rollup rows: every small dimension at once, then the most recently active requests."""
    small_dimensions = [d for d in Dimension.values if d != Dimension.REQUEST]
    small = with_bases(Rollup.objects.filter(dimension__in=small_dimensions).order_by("dimension", "key"), now)
    requests = with_bases(Rollup.objects.filter(dimension=Dimension.REQUEST).order_by("-updated")[:MAX_ROWS], now)
    rows = rows_of(small + requests, now, {})
    by_dimension: dict[str, list[Row]] = {d: [] for d in BREAKDOWNS}
    scope = None
    for row in rows:
        if row.dimension == Dimension.ALL:
            scope = row
        elif len(by_dimension[row.dimension]) < MAX_ROWS or row.dimension == Dimension.REQUEST:
            by_dimension[row.dimension].append(row)
    return {"scope": scope or row_of(Dimension.ALL, "", {}, {}), "breakdowns": by_dimension}


def filtered_breakdown(dimension: str, filters: dict) -> list[Row]:
    if dimension == Dimension.FORMAT:
        return format_rows(filters)
    return task_sum_rows(filters, dimension)


def with_bases(qs, now) -> list[Rollup]:
    """Rollup rows, each with the id of the sample current an hour ago (or the first one since, if younger)."""
    key_samples = Sample.objects.filter(dimension=OuterRef("dimension"), key=OuterRef("key"))
    before = key_samples.filter(ts__lte=now - WINDOW).order_by("-ts").values("pk")[:1]
    first_in_window = key_samples.filter(ts__gt=now - WINDOW).order_by("ts").values("pk")[:1]
    return list(qs.annotate(before=Subquery(before), first=Subquery(first_in_window)))


def rows_of(rollups: list[Rollup], now, query) -> list[Row]:
    bases = Sample.objects.in_bulk([r.before or r.first for r in rollups if r.before or r.first])
    return [
        with_rates(row_of(r.dimension, r.key, r.__dict__, query), bases.get(r.before or r.first), now) for r in rollups
    ]


def row_of(dimension, key, values: dict, query: dict) -> Row:
    own = {} if dimension == Dimension.ALL else {dimension: key}
    return Row(
        dimension=dimension,
        key=key,
        label=label_of(dimension, key),
        query={**query, **own},
        counters={k: values.get(k) or 0 for k in values if k.startswith(("events_", "jobs_"))},
        tasks={f.removeprefix("tasks_"): values.get(f) or 0 for f in TASK_STATUS_FIELDS if values.get(f)},
        failed_by_class={k.removeprefix("failed_"): v for k, v in values.items() if k.startswith("failed_") and v},
    )


def label_of(dimension, key) -> str:
    if dimension == Dimension.ALL:
        return "all production"
    return f"request {key}" if dimension == Dimension.REQUEST else key or "(none)"


def with_rates(row: Row, base: Sample | None, now) -> Row:
    """Failures, finished jobs and throughput since the sample current an hour ago; ETA from that throughput."""
    if base is None:
        return row
    elapsed_h = (now - base.ts).total_seconds() / 3600
    row.failed_last_hour = max(row.counters.get("jobs_failed", 0) - base.jobs_failed, 0)
    row.finished_last_hour = max(row.counters.get("jobs_finished", 0) - base.jobs_finished, 0)
    if elapsed_h >= 1 / 60:
        row.throughput = max(row.counters.get("events_merged", 0) - base.events_merged, 0) / elapsed_h
        remaining = row.counters.get("events_total", 0) - row.counters.get("events_merged", 0)
        if remaining > 0 and row.throughput > 0 and row.tasks_active:
            row.eta = now + timedelta(hours=remaining / row.throughput)
    return row


def filtered_tasks(filters: dict):
    return TaskFilterSet(filters, queryset=ProductionTask.objects.order_by()).qs


DIMENSION_COLUMN = {
    Dimension.REQUEST: "request_id",
    Dimension.GROUP: "group__name",
    Dimension.PROJECT: "project",
    Dimension.PTAG: "ptag__name",
}


def task_sum_rows(filters: dict, dimension: str | None) -> list[Row]:
    """Sums of the task counters of the filtered tasks, overall (dimension None) or per key of a dimension."""
    sums = sums_by(DIMENSION_COLUMN.get(dimension), queryset=filtered_tasks(filters))
    ordered = sorted(sums.items(), key=lambda kv: -kv[1].get("events_total", 0))[:MAX_ROWS]
    return [row_of(dimension or Dimension.ALL, k, dict(v), filters) for k, v in ordered]


def format_rows(filters: dict) -> list[Row]:
    tasks = filtered_tasks(filters)
    if tasks.count() > MAX_TASKS_FOR_FORMATS:
        return []
    sums = {k: v for (d, k), v in sums_by_format(queryset=tasks).items() if d == Dimension.FORMAT}
    return [row_of(Dimension.FORMAT, k, dict(v), filters) for k, v in sorted(sums.items())[:MAX_ROWS]]


def summary_as_dict(result: dict) -> dict:
    return {
        "filters": result["filters"],
        "now": result["now"].isoformat(),
        **result["scope"].as_dict(),
        "breakdowns": {d: [r.as_dict() for r in rows] for d, rows in result["breakdowns"].items()},
    }
