"""The embedded default backend: a simulated grid, so that the portal runs end to end on one laptop.

Sites are `catalog.Site` rows (slots, events per second per slot). The simulator keeps its state in the job
rows themselves (`executor_ref`, `started_at`, `executor_due`: the simulated end), so it survives worker
restarts and works across processes. Each job's fate (success or which failure, and how long it takes) is
drawn from a random generator seeded by (DEFT_SIM_SEED, job id, attempt): the same job gets the same fate
whatever the timing of the ticks. Wall times are divided by DEFT_SIM_TIME_FACTOR, so that a two-hour job
takes twelve seconds at the default of 600.

Failure profiles, for demos and tests (both read from the database, so a running worker sees them at once):
- a site whose storage endpoint has `attributes["sim_failure"] = "stage-in"` fails every job's stage-in
  (pilot 1099);
- a format whose p-tag has `format_params[format]["sim_failure"] = "software"` crashes every deriv job that
  writes it (trf 65, a segmentation fault in the derivation framework);
- a format with `format_params[format]["sim_failure"] = "merge"` fails every merge job of a task writing it
  (pilot 1137 stage-out): its deriv jobs finish, its merges never do.
Otherwise DEFT_SIM_FAILURE_RATE of deriv jobs (and a quarter of that of merge jobs) fail with a mix of real
pilot and transform codes from the error registry.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Sum
from django.utils import timezone

from catalog.models import StorageEndpoint
from tasks.engine.executors.base import Executor, JobUpdate, OutputFile
from tasks.models import Job, JobOutput, JobType, ProductionTask
from tasks.states import JobStatus

REF_PREFIX = "sim-"
KILLED_REF = "sim-killed"
REFERENCE_EVENTS_PER_SECOND = 5.0  # a site at this rate runs a job in (events x CPU seconds per event)
MERGE_BYTES_PER_SECOND = 50_000_000
MERGE_SETUP_SECONDS = 60
STAGE_IN_FAILURE = "stage-in"
SOFTWARE_FAILURE = "software"
MERGE_FAILURE_PROFILE = "merge"

# (source, code, weight, diagnostic): the random failure mix, real codes with the diagnostics they come with.
FAILURE_MIX = (
    ("pilot", 1099, 30, "Failed to stage-in file: gfal-copy failed: Communication error on send: Connection timed out"),
    ("pilot", 1137, 20, "Failed to stage-out file: gfal-copy failed: globus_ftp_client: the server responded 451"),
    ("pilot", 1212, 15, "Payload ran out of memory: FATAL out of memory: taking the application down"),
    ("pilot", 1213, 10, "Reached maximum batch system time limit (SIGXCPU)"),
    ("pilot", 1150, 5, "Looping job killed by pilot: no output file modification for 7200 s"),
    (
        "trf",
        68,
        10,
        "Non-zero return code from AODtoDAOD (8); Logfile error in log.AODtoDAOD: "
        '"ERROR Could not open input file root://eosatlas.cern.ch//eos/atlas/atlasdatadisk/rucio/AOD.pool.root.1"',
    ),
    ("trf", 253, 10, "Unknown transexitcode"),
)
STAGE_IN_DIAG = "Failed to stage-in file: gfal-copy failed: [SE][srm2__srmPrepareToGet] No such file or directory"
SOFTWARE_DIAG = (
    "Non-zero return code from AODtoDAOD (65); Logfile error in log.AODtoDAOD: "
    '"Segmentation fault" in DerivationFramework::SkimmingToolExample::eventPassesFilter()'
)
MERGE_FAILURE = ("pilot", 1137, STAGE_IN_DIAG.replace("stage-in", "stage-out"))


def job_rng(job_id: int, attempt: int) -> "JobRandom":
    """The job's own generator: its fate depends on the seed, its id and its attempt, not on tick timing."""
    return JobRandom(int(settings.DEFT_SIM_SEED), job_id, attempt)


_MASK = (1 << 64) - 1


class JobRandom:
    """A small deterministic stream of floats (splitmix64) keyed by integers, with the draws `fate` makes.

    Seeding `random.Random` (from a sha256 of the key) cost about 10 µs a job, twice per job (submit and
    end): more than applying the job's update. Splitmix64 passes the usual statistical tests and a key
    gives the same stream in every process (no hash randomisation)."""

    __slots__ = ("state",)

    def __init__(self, *key: int):
        state = 0
        for part in key:  # distinct keys, distinct states; the output mix below spreads neighbouring ones
            state = (state * 0x100000001B3 + part) & _MASK
        self.state = state

    def _next(self) -> int:
        self.state = z = (self.state + 0x9E3779B97F4A7C15) & _MASK
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)

    def random(self) -> float:
        """A float in [0, 1), from the top 53 bits."""
        return (self._next() >> 11) * (1.0 / (1 << 53))

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.random()

    def choice_weighted(self, population: Sequence, weights: Sequence[float]):
        point, total = self.random() * sum(weights), 0.0
        for item, weight in zip(population, weights, strict=True):
            total += weight
            if point < total:
                return item
        return population[-1]


def failure_rate() -> float:
    return float(getattr(settings, "DEFT_SIM_FAILURE_RATE", 0.04))


@dataclass(frozen=True)
class SimJob:
    """What the simulator needs to know of a job (read in bulk, not as model instances)."""

    pk: int
    attempt: int
    job_type: str
    nevents: int
    site_id: int | None
    site_rate: float | None
    task: ProductionTask  # with its p-tag
    merge_bytes: int = 0


def sim_jobs(queryset) -> list[SimJob]:
    rows = list(
        queryset.values_list("pk", "attempt", "job_type", "nevents", "site_id", "site__events_per_second", "task_id")
    )
    tasks = ProductionTask.objects.filter(pk__in={row[6] for row in rows}).select_related("ptag")
    tasks = {task.pk: task for task in tasks}
    merges = merge_inputs([row[0] for row in rows if row[2] == JobType.MERGE])
    return [
        SimJob(*row[:6], task=tasks[row[6]], merge_bytes=sum(size for size, _ in merges.get(row[0], {}).values()))
        for row in rows
    ]


class SimulatedGrid(Executor):
    name = "simulated"

    def submit(self, job_ids: Sequence[int]) -> None:
        """Start the clock of assigned jobs: each gets its simulated end time."""
        now = timezone.now()
        factor = float(settings.DEFT_SIM_TIME_FACTOR) or 1.0
        failing_sites = stage_in_failing_sites()
        jobs = sim_jobs(Job.objects.filter(pk__in=list(job_ids), status=JobStatus.ASSIGNED))
        rows = [
            Job(
                pk=job.pk,
                executor_ref=f"{REF_PREFIX}{job.pk}.{job.attempt}",
                executor_due=now + timedelta(seconds=self.fate(job, failing_sites=failing_sites)[0] / factor),
            )
            for job in jobs
        ]
        Job.objects.bulk_update(rows, ["executor_ref", "executor_due"], batch_size=2000)

    def kill(self, job_ids: Sequence[int]) -> None:
        """Killed jobs are reported `cancelled` at the next poll."""
        Job.objects.filter(
            pk__in=list(job_ids),
            status__in=(JobStatus.ASSIGNED, JobStatus.RUNNING),
            executor_ref__startswith=REF_PREFIX,
        ).update(executor_ref=KILLED_REF)

    def poll(self, limit: int = 5000) -> list[JobUpdate]:
        ours = Job.objects.filter(executor_ref__startswith=REF_PREFIX)
        killed = ours.filter(executor_ref=KILLED_REF, status__in=(JobStatus.ASSIGNED, JobStatus.RUNNING))
        updates = [JobUpdate(job_id=pk, status=JobStatus.CANCELLED) for pk in killed.values_list("pk", flat=True)]
        live = ours.exclude(executor_ref=KILLED_REF)
        started = live.filter(status=JobStatus.ASSIGNED).order_by("pk").values_list("pk", flat=True)[:limit]
        updates += [JobUpdate(job_id=pk, status=JobStatus.RUNNING) for pk in started]
        due = live.filter(status=JobStatus.RUNNING, executor_due__lte=timezone.now()).order_by("executor_due", "pk")
        updates += self.ends(sim_jobs(due[:limit]))
        return updates

    # --- a job's fate -----------------------------------------------------------------------------------

    def fate(self, job: SimJob, *, failing_sites: set[int]) -> tuple[float, tuple | None]:
        """(wall seconds, failure or None); the failure is (source, code, diagnostic)."""
        rng = job_rng(job.pk, job.attempt)
        seconds = self.wall_seconds(job, rng)
        if job.job_type == JobType.MERGE:
            if has_profile(job.task, MERGE_FAILURE_PROFILE):
                return seconds * rng.uniform(0.1, 0.9), MERGE_FAILURE
            failed = rng.random() < failure_rate() / 4
            return (seconds * rng.uniform(0.1, 0.9), MERGE_FAILURE) if failed else (seconds, None)
        if job.site_id in failing_sites:
            return seconds * 0.02, ("pilot", 1099, STAGE_IN_DIAG)
        if has_profile(job.task, SOFTWARE_FAILURE):
            return seconds * rng.uniform(0.05, 0.5), ("trf", 65, SOFTWARE_DIAG)
        if rng.random() < failure_rate():
            source, code, _weight, diag = rng.choice_weighted(FAILURE_MIX, [m[2] for m in FAILURE_MIX])
            return seconds * rng.uniform(0.05, 0.9), (source, code, diag)
        return seconds, None

    def wall_seconds(self, job: SimJob, rng: JobRandom) -> float:
        jitter = rng.uniform(0.8, 1.2)
        if job.job_type == JobType.MERGE:
            return (MERGE_SETUP_SECONDS + job.merge_bytes / MERGE_BYTES_PER_SECOND) * jitter
        speed = (job.site_rate or REFERENCE_EVENTS_PER_SECOND) / REFERENCE_EVENTS_PER_SECOND
        return job.nevents * job.task.ptag.cpu_per_event(job.task.formats) * jitter / max(speed, 0.01)

    def ends(self, jobs: list[SimJob]) -> list[JobUpdate]:
        failing_sites = stage_in_failing_sites()
        merged = merge_inputs([j.pk for j in jobs if j.job_type == JobType.MERGE])
        updates = []
        for job in jobs:
            failure = self.fate(job, failing_sites=failing_sites)[1]
            if failure:
                source, code, diag = failure
                updates.append(
                    JobUpdate(
                        job_id=job.pk, status=JobStatus.FAILED, error_source=source, error_code=code, error_diag=diag
                    )
                )
            elif job.job_type == JobType.MERGE:
                updates.append(JobUpdate(job_id=job.pk, status=JobStatus.FINISHED, outputs=merge_outputs(job, merged)))
            else:
                updates.append(JobUpdate(job_id=job.pk, status=JobStatus.FINISHED, outputs=deriv_outputs(job)))
        return updates


def has_profile(task: ProductionTask, profile: str) -> bool:
    """A format the task writes carries this failure profile in its p-tag's format parameters."""
    return any(task.ptag.params_for(f).get("sim_failure") == profile for f in task.formats)


def stage_in_failing_sites() -> set[int]:
    return set(
        StorageEndpoint.objects.filter(attributes__sim_failure=STAGE_IN_FAILURE).values_list("site_id", flat=True)
    )


def deriv_outputs(job: SimJob) -> tuple[OutputFile, ...]:
    """One unmerged file per format: events = round(input events x skim efficiency), bytes likewise."""
    task: ProductionTask = job.task
    files = []
    for data_format in task.formats:
        params = task.ptag.params_for(data_format)
        efficiency = float(params["skim_efficiency"]) if task.skim else 1.0
        files.append(
            OutputFile(
                format=data_format,
                lfn=f"{data_format}.{task.pk:08d}._{job.pk:09d}.pool.root.{job.attempt}",
                bytes=round(job.nevents * float(params["bytes_per_event"]) * efficiency),
                events=round(job.nevents * efficiency),
            )
        )
    return tuple(files)


def merge_inputs(merge_ids: list[int]) -> dict[int, dict[str, tuple[int, int]]]:
    """merge job id -> {format: (bytes, events)} of the unmerged outputs it reads."""
    rows = (
        JobOutput.objects.filter(merged_into__in=merge_ids)
        .values_list("merged_into", "format")
        .annotate(b=Sum("bytes"), e=Sum("events"), n=Count("id"))
        .order_by()
    )
    result: dict[int, dict] = defaultdict(dict)
    for merge_id, data_format, size, events, _n in rows:
        result[merge_id][data_format] = (size or 0, events or 0)
    return result


def merge_outputs(job: SimJob, merged: dict) -> tuple[OutputFile, ...]:
    return tuple(
        OutputFile(
            format=data_format,
            lfn=f"{data_format}.{job.task.pk:08d}._{job.pk:09d}.merge.pool.root.{job.attempt}",
            bytes=size,
            events=events,
        )
        for data_format, (size, events) in sorted(merged.get(job.pk, {}).items())
    )
