"""Rollups of the task counters (per request, group, project, format, p-tag and overall) and their samples.

The dashboards read these rows only: a rollup row is kept equal to the sum of its tasks' counters by the hooks in
`monitoring.rollups` (same transaction as the task change), and a `Sample` of each changed row is written every
minute so throughput, ETA and the charts never scan the job table.
"""

from django.db import models

from tasks.models import TASK_COUNTER_FIELDS, ErrorClass, done_fraction
from tasks.states import TaskStatus


def within(dimension: str, key: str, breakdown: str) -> str:
    """The dimension of the rows that break one scope down by another, e.g. `group=PHYS-SUSY|format`: their keys
    are the breakdown's (`DAOD_SUSY1`), their counters those of the scope's tasks only. A filtered summary reads
    them instead of summing task rows."""
    return f"{dimension}={key}|{breakdown}"


class Dimension(models.TextChoices):
    ALL = "all"  # one row, key ""
    PROJECT = "project"  # key: the task's project, e.g. mc14_8TeV
    REQUEST = "request"  # key: the request id
    GROUP = "group"  # key: the group name, e.g. PHYS-SUSY
    FORMAT = "format"  # key: an output format; a task with several formats counts in each
    PTAG = "ptag"  # key: the p-tag name


# The task counters a rollup sums (tasks.models.TASK_COUNTER_FIELDS), and what it counts itself.
TASK_STATUS_FIELDS = tuple(f"tasks_{s}" for s in TaskStatus.values)
FAILED_CLASS_FIELDS = tuple(f"failed_{c}" for c in ErrorClass.values)
ROLLUP_FIELDS = TASK_COUNTER_FIELDS + TASK_STATUS_FIELDS + FAILED_CLASS_FIELDS
# What a sample keeps: the cumulative counters throughput and failure rates are differences of.
SAMPLE_FIELDS = (
    "events_total",
    "events_processed",
    "events_done",
    "events_merged",
    "jobs_running",
    "jobs_finished",
    "jobs_failed",
) + FAILED_CLASS_FIELDS


def counter():
    return models.BigIntegerField(default=0)


class CountersMixin(models.Model):
    events_total = counter()
    events_processed = counter()
    events_done = counter()
    events_merged = counter()  # input events whose outputs are all merged: progress, skims included
    jobs_defined = counter()
    jobs_assigned = counter()
    jobs_running = counter()
    jobs_finished = counter()
    jobs_failed = counter()
    jobs_cancelled = counter()
    failed_software = counter()
    failed_site = counter()
    failed_service = counter()
    failed_resource = counter()
    failed_user = counter()
    failed_unknown = counter()

    class Meta:
        abstract = True


class Rollup(CountersMixin):
    """The sum of the counters of the tasks in one (dimension, key), plus its tasks by status.

    `dimension` is one of `Dimension`, or `within(...)` a scope of another dimension (not sampled).
    """

    dimension = models.CharField(max_length=300)
    key = models.CharField(max_length=255, blank=True)
    tasks_registered = counter()
    tasks_defined = counter()
    tasks_running = counter()
    tasks_done = counter()
    tasks_finished = counter()
    tasks_failed = counter()
    tasks_broken = counter()
    tasks_exhausted = counter()
    tasks_paused = counter()
    tasks_toretry = counter()
    tasks_toabort = counter()
    tasks_aborted = counter()
    tasks_obsolete = counter()
    updated = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["dimension", "key"]
        constraints = [models.UniqueConstraint(fields=["dimension", "key"], name="rollup_once_per_key")]

    def __str__(self):
        return f"{self.dimension}={self.key}"

    @property
    def tasks_total(self) -> int:
        return sum(getattr(self, f) for f in TASK_STATUS_FIELDS)

    @property
    def progress(self) -> float:
        return done_fraction(self.events_merged, self.events_total)


class Sample(CountersMixin):
    """A rollup row's cumulative counters at a moment (written each minute for the rows that changed)."""

    ts = models.DateTimeField()
    dimension = models.CharField(max_length=8, choices=Dimension.choices)
    key = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["ts"]
        indexes = [models.Index(fields=["dimension", "key", "ts"], name="sample_key_time")]

    def __str__(self):
        return f"{self.dimension}={self.key} @ {self.ts:%H:%M}"


class SiteJobs(models.Model):
    """Brokered jobs per site (the sites page), kept as a ledger of deltas rather than one row per site.

    A job move appends a row per site it changed (never an UPDATE): moves on many sites and bulk aborts never
    wait on each other or deadlock on a hot row. The minute beat (`samples_write`) folds the ledger into one row
    per site, so the sites page sums at most a few rows per site, whatever the size of the job table.
    """

    site = models.ForeignKey("catalog.Site", on_delete=models.CASCADE, related_name="+")
    jobs_assigned = counter()
    jobs_running = counter()

    def __str__(self):
        return f"site {self.site_id}: {self.jobs_assigned:+} assigned, {self.jobs_running:+} running"
