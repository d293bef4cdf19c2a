"""Tasks, their jobs and outputs, bulk operations, and the error-code registry."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from deft.fields import JSONTextField
from tasks.states import JOB_ACTIVE, TASK_RUNNABLE, JobStatus, OperationStatus, TaskStatus

DEFAULT_MAX_ATTEMPTS = 30  # per input (DOMAIN.md: group tasks allow 30 attempts ...)
DEFAULT_MAX_FAILURES = 5  # ... and 5 failures per input before giving up on it
DEFAULT_WALLTIME_S = 12 * 3600


# The task counters, kept by job moves (tasks/engine/moves.py) and summed by the rollups: the one list of them.
TASK_COUNTER_FIELDS = (
    "events_total",
    "events_processed",  # input events of finished deriv jobs
    "events_done",  # events in merged outputs (the catalog's count)
    "events_merged",  # input events whose outputs are all merged: progress, skims included
    "jobs_defined",
    "jobs_assigned",
    "jobs_running",
    "jobs_finished",
    "jobs_failed",
    "jobs_cancelled",
)


def done_fraction(events_merged: int, events_total: int) -> float:
    """The done fraction of any scope (a task, a request, a group...): input events whose outputs are merged."""
    return min(events_merged / events_total, 1.0) if events_total else 0.0


class ProductionTask(models.Model):
    """One input dataset processed by one p-tag into its output datasets."""

    # Foreign keys that lead a composite index below have no index of their own: a status move is never a HOT
    # update, so every index of the table gets a new entry for each task a bulk action moves.
    request = models.ForeignKey(
        "requests_app.ProductionRequest", on_delete=models.CASCADE, related_name="tasks", db_index=False
    )
    slice = models.ForeignKey(
        "requests_app.Slice", null=True, blank=True, on_delete=models.CASCADE, related_name="tasks"
    )
    # Copied from the request so that permission filters and rollups never join through it.
    group = models.ForeignKey("deft.PhysicsGroup", on_delete=models.PROTECT, related_name="tasks", db_index=False)
    project = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=255)  # indexed below, without the LIKE index: name patterns use ILIKE
    input_dataset = models.ForeignKey(
        "catalog.Dataset", on_delete=models.PROTECT, related_name="input_tasks", db_index=False
    )
    ptag = models.ForeignKey("requests_app.PTag", on_delete=models.PROTECT, related_name="tasks")
    formats = models.JSONField(default=list)
    skim = models.BooleanField(default=True)
    events_per_job = models.PositiveIntegerField(null=True, blank=True, help_text="empty: automatic")
    priority = models.PositiveIntegerField(default=560)
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.REGISTERED)
    destination = models.CharField(max_length=255, blank=True, help_text="RSE expression for merged outputs")
    max_attempts = models.PositiveIntegerField(default=DEFAULT_MAX_ATTEMPTS)
    max_failures = models.PositiveIntegerField(default=DEFAULT_MAX_FAILURES)
    memory_mb = models.PositiveIntegerField(default=2000)
    soft_finish = models.BooleanField(default=False, help_text="finish asked: no new jobs, end when running end")
    error_dialog = models.TextField(blank=True, help_text="the task's message to people, e.g. why it is broken")
    # Set once when the task is paused for mostly-software failures and its e-group told: never told twice.
    software_alert_at = models.DateTimeField(null=True, blank=True)

    # Counters move with the rows they count (same transaction), so dashboards never scan jobs.
    events_total = models.BigIntegerField(default=0, help_text="input events")
    events_processed = models.BigIntegerField(default=0, help_text="input events of finished deriv jobs")
    events_done = models.BigIntegerField(default=0, help_text="events in merged outputs")
    # Progress, in input events: a skim's merged outputs hold fewer events than its input, so events_done can
    # never say how far a task has come. A deriv job's input events count here once none of its outputs is
    # left unmerged (merged and cleaned up, or empty).
    events_merged = models.BigIntegerField(default=0, help_text="input events whose outputs are all merged")
    jobs_defined = models.PositiveIntegerField(default=0)
    jobs_assigned = models.PositiveIntegerField(default=0)
    jobs_running = models.PositiveIntegerField(default=0)
    jobs_finished = models.PositiveIntegerField(default=0)
    jobs_failed = models.PositiveIntegerField(default=0)
    jobs_cancelled = models.PositiveIntegerField(default=0)

    created = models.DateTimeField(auto_now_add=True, db_index=True)
    updated = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["group", "status"], name="task_group_status"),
            models.Index(fields=["request", "status"], name="task_request_status"),
            models.Index(fields=["input_dataset", "ptag"], name="task_input_ptag"),
            models.Index(fields=["status"], name="task_runnable", condition=Q(status__in=sorted(TASK_RUNNABLE))),
            models.Index(fields=["name"], name="task_name"),
        ]

    def __str__(self):
        return f"{self.pk} {self.name}"

    def get_absolute_url(self):
        return reverse("task-detail", args=[self.pk])

    @property
    def jobs_active(self) -> int:
        return self.jobs_defined + self.jobs_assigned + self.jobs_running

    @property
    def progress(self) -> float:
        """Fraction of input events whose outputs are merged (0..1)."""
        return done_fraction(self.events_merged, self.events_total)


class TaskDataset(models.Model):
    """An output dataset of a task, per format: the merged one and the unmerged (`um`) one."""

    task = models.ForeignKey(ProductionTask, on_delete=models.CASCADE, related_name="datasets")
    dataset = models.ForeignKey("catalog.Dataset", on_delete=models.PROTECT, related_name="task_links")
    format = models.CharField(max_length=64)
    merged = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task", "format", "merged"], name="taskdataset_once_per_format"),
        ]

    def __str__(self):
        return str(self.dataset)


class JobType(models.TextChoices):
    DERIV = "deriv"
    MERGE = "merge"


class Job(models.Model):
    """One unit of grid work in a task: a derivation over some lumiblocks, or a merge of unmerged outputs."""

    # Foreign keys and dates without an index of their own: the (task, status), (site, status) and
    # (status, ended_at) indexes below lead with them, and every index is written for each of the tens of
    # thousands of jobs a task creates (and, for statuses, on every move: those UPDATEs are never HOT).
    # No FK constraint in the database: it checks every new row on its own at commit (a third of the cost of
    # COPYing a task's jobs). `moves.jobs_create` checks the tasks once per batch instead (it locks and
    # counts them), and deleting a task still deletes its jobs (Django cascades).
    task = models.ForeignKey(
        ProductionTask, on_delete=models.CASCADE, related_name="jobs", db_index=False, db_constraint=False
    )
    job_type = models.CharField("step", max_length=8, choices=JobType.choices, default=JobType.DERIV)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.DEFINED)
    attempt = models.PositiveIntegerField(default=1)
    # On PostgreSQL its uniqueness is a partial index (migration 0006): new jobs, which have no previous
    # attempt, add no entry to it.
    previous = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="next_attempt"
    )
    site = models.ForeignKey(
        "catalog.Site", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs", db_index=False
    )
    priority = models.PositiveIntegerField(default=560)
    memory_mb = models.PositiveIntegerField(default=2000)
    # Deriv jobs: [[lfn, run, lumiblock, events], ...]. Merge jobs read JobOutputs (merged_into). Only ever read
    # whole, in Python (job page, API, brokerage, retries), so kept as text rather than parsed into `jsonb`.
    inputs = JSONTextField(default=list, blank=True)
    nevents = models.BigIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0, help_text="failures of this input so far, this one included")
    error_source = models.CharField(max_length=16, blank=True)
    error_code = models.IntegerField(null=True, blank=True)
    error_diag = models.TextField(blank=True)
    error_class = models.CharField(max_length=16, blank=True)
    # How the error was classified when the job failed (kept, so later rule changes never rewrite history).
    error_original_code = models.IntegerField(null=True, blank=True, help_text="the code before a rule rewrote it")
    error_rule = models.ForeignKey(
        "tasks.ErrorRule", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    error_dry_run_rules = models.JSONField(default=list, blank=True, help_text="ids of dry-run rules that matched")
    software_failures = models.PositiveIntegerField(default=0, help_text="software failures of this input so far")
    walltime_s = models.PositiveIntegerField(default=DEFAULT_WALLTIME_S, help_text="wall-time limit, seconds")
    executor_ref = models.CharField(max_length=64, blank=True, help_text="the backend's id for this job")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    not_before = models.DateTimeField(null=True, blank=True, help_text="a retry asked to wait: not brokered before")
    executor_due = models.DateTimeField(
        null=True, blank=True, help_text="when the backend expects the job to end (the simulated grid's clock)"
    )

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["task", "status"], name="job_task_status"),
            # Partial on what new jobs lack (no site, not ended, no rule): creating a job writes only the
            # primary key, job_task_status and job_active. Queries naming a site, an end window or a rule
            # imply the condition, so they still use these.
            models.Index(fields=["site", "status"], name="job_site_status", condition=Q(site__isnull=False)),
            models.Index(fields=["status", "priority"], name="job_active", condition=Q(status__in=sorted(JOB_ACTIVE))),
            models.Index(  # error summaries by window
                fields=["status", "ended_at"], name="job_status_ended", condition=Q(ended_at__isnull=False)
            ),
            models.Index(fields=["error_rule"], name="job_error_rule", condition=Q(error_rule__isnull=False)),
        ]

    def __str__(self):
        return f"{self.job_type} job {self.pk} of task {self.task_id} (attempt {self.attempt})"

    def get_absolute_url(self):
        return reverse("job-detail", args=[self.pk])


class JobOutput(models.Model):
    """A file a job wrote: unmerged (by a deriv job) or merged (by a merge job)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="outputs")
    format = models.CharField(max_length=64)
    lfn = models.CharField(max_length=255)  # unique by a constraint: `unique=True` adds a LIKE index nobody uses
    merged = models.BooleanField(default=False)
    bytes = models.BigIntegerField(default=0)
    events = models.BigIntegerField(default=0)
    file = models.ForeignKey("catalog.File", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Indexed only once planned into a merge (see Meta): a new output adds no entry.
    merged_into = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="merge_inputs", db_index=False
    )
    deleted = models.BooleanField(default=False, help_text="unmerged file cleaned up after its merge")

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["job"],
                name="output_unmerged_pending",
                condition=Q(merged=False, merged_into__isnull=True),
            ),
            # Queries name merge jobs (merged_into IN ...), which implies the condition.
            models.Index(fields=["merged_into"], name="output_merged_into", condition=Q(merged_into__isnull=False)),
        ]
        constraints = [models.UniqueConstraint(fields=["lfn"], name="output_lfn_unique")]

    def __str__(self):
        return self.lfn


class Operation(models.Model):
    """A bulk action and its progress: the source of truth a worker walks through in batches."""

    action = models.CharField(max_length=32)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=OperationStatus.choices, default=OperationStatus.QUEUED)
    request = models.ForeignKey(
        "requests_app.ProductionRequest",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="operations",
    )
    # {"task_ids": [...]} resolved when the operation is created, plus the filter it came from, for people.
    selection = models.JSONField(default=dict, blank=True)
    params = models.JSONField(default=dict, blank=True)
    comment = models.TextField(blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    cursor = models.BigIntegerField(default=0, help_text="last primary key handled: a redelivery resumes after it")
    messages = models.JSONField(default=list, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    progressed_at = models.DateTimeField(
        default=timezone.now, help_text="created, started or a batch committed: an old one means a stranded operation"
    )

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"operation {self.pk} {self.action} ({self.status})"

    def get_absolute_url(self):
        return reverse("operation-detail", args=[self.pk])

    @property
    def progress(self) -> float:
        return min((self.done + self.skipped + self.failed) / self.total, 1.0) if self.total else 0.0


class ErrorSource(models.TextChoices):
    PILOT = "pilot"
    TRF = "trf"
    EXECUTOR = "executor"
    DDM = "ddm"


class ErrorClass(models.TextChoices):
    SOFTWARE = "software"  # the payload itself fails: do not retry blindly, tell the group
    SITE = "site"  # storage, node, batch system: retry elsewhere
    SERVICE = "service"  # central service or transfer: retry later
    RESOURCE = "resource"  # memory or time exceeded: retry with more
    USER = "user"  # bad task parameters or input
    UNKNOWN = "unknown"


class RetryAction(models.TextChoices):
    RETRY_ELSEWHERE = "retry_elsewhere"
    RETRY_LATER = "retry_later"
    INCREASE_MEMORY = "increase_memory"
    INCREASE_WALLTIME = "increase_walltime"
    LIMIT_RETRY = "limit_retry"
    NO_RETRY = "no_retry"


class ErrorCode(models.Model):
    source = models.CharField(max_length=16, choices=ErrorSource.choices)
    code = models.IntegerField()
    name = models.CharField(max_length=64)
    description = models.TextField(blank=True)
    error_class = models.CharField(max_length=16, choices=ErrorClass.choices, default=ErrorClass.UNKNOWN)
    retry_action = models.CharField(max_length=24, choices=RetryAction.choices, default=RetryAction.LIMIT_RETRY)
    updated = models.DateTimeField(auto_now=True, null=True)  # workers reload their cached registry when it moves

    class Meta:
        ordering = ["source", "code"]
        constraints = [models.UniqueConstraint(fields=["source", "code"], name="errorcode_unique_source_code")]

    def __str__(self):
        return f"{self.source}:{self.code} {self.name}"


class ErrorRule(models.Model):
    """A diagnostic rule: (source, code, regex on the diagnostic) -> a more specific code and class.

    Rules are tried by position, most specific first; an inactive rule is a dry run: it only records a match.
    """

    position = models.PositiveIntegerField(default=0, db_index=True)
    source = models.CharField(max_length=16, choices=ErrorSource.choices)
    code = models.IntegerField(null=True, blank=True, help_text="empty: any code of the source")
    pattern = models.CharField(max_length=500, help_text="Python regular expression searched in the diagnostic")
    new_code = models.IntegerField(null=True, blank=True, help_text="empty: keep the code")
    error_class = models.CharField(
        max_length=16, choices=ErrorClass.choices, null=True, blank=True, help_text="empty: the new code's class"
    )
    description = models.CharField(max_length=255, blank=True)
    active = models.BooleanField(default=False, help_text="off: dry run, only records what it would have done")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        code = "*" if self.code is None else self.code
        return f"rule {self.pk}: {self.source}:{code} /{self.pattern[:40]}/ -> {self.new_code}"

    def get_absolute_url(self):
        return reverse("errorrule-edit", args=[self.pk])
