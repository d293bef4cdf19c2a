"""Brokerage: which site runs each defined job.

Rules (DOMAIN.md): a job goes to a site that holds a replica of its input and has free slots (slots minus the
jobs assigned or running there); jobs of higher priority go first (merge jobs before deriv jobs of the same
priority, since they free disk); priority 950 and above goes to T1 sites only, and T0 counts as T1 here (CERN
is the tier above the T1s, not below them); a retry avoids the site where its previous attempt failed.

When no eligible site holds the input at all (or only the avoided one), the job may go to any eligible site,
which then reads its input remotely: otherwise a retry of a job whose data sit at one failing site would never
run. When the data sites are merely full, the job waits for a slot there.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from catalog.models import Replica, ReplicaState, Site, Tier
from tasks.engine.executors import get_executor
from tasks.engine.moves import jobs_move, tasks_move
from tasks.models import Job, JobOutput, JobType, ProductionTask
from tasks.states import TASK_FINAL, JobStatus, TaskStatus

T1_ONLY_PRIORITY = 950
T1_TIERS = frozenset({Tier.T0, Tier.T1})
BROKERED_TASK_STATUSES = (TaskStatus.DEFINED, TaskStatus.RUNNING, TaskStatus.TORETRY)
STOPPED_TASK_STATUSES = tuple(sorted({TaskStatus.TOABORT, *TASK_FINAL}))


@dataclass(frozen=True)
class SiteSlots:
    id: int
    name: str
    tier: str
    free: int


@dataclass(frozen=True)
class JobToBroker:
    id: int
    priority: int
    is_merge: bool = False
    data_sites: frozenset = field(default_factory=frozenset)
    avoid_site: int | None = None


def broker(jobs: list[JobToBroker], sites: list[SiteSlots]) -> dict[int, int]:
    """Job id -> site id for the jobs that can go somewhere now (pure: the rules above, nothing else)."""
    free = {site.id: site.free for site in sites}
    chosen = {}
    for job in sorted(jobs, key=lambda j: (-j.priority, not j.is_merge, j.id)):
        eligible = [s for s in sites if job.priority < T1_ONLY_PRIORITY or s.tier in T1_TIERS]
        site = pick_site(job, eligible, free)
        if site is not None:
            chosen[job.id] = site.id
            free[site.id] -= 1
    return chosen


def pick_site(job: JobToBroker, eligible: list[SiteSlots], free: dict[int, int]) -> SiteSlots | None:
    with_data = [s for s in eligible if s.id in job.data_sites and s.id != job.avoid_site]
    candidates = with_data or [s for s in eligible if s.id != job.avoid_site] or eligible
    open_sites = [s for s in candidates if free[s.id] > 0]
    if not open_sites:
        return None  # wait for a slot at a site with the data
    return min(open_sites, key=lambda s: (-free[s.id], s.name))


def jobs_broker(*, limit: int = 20_000) -> dict:
    """Assign defined jobs to sites and hand them to the executor; says how many went where."""
    sites = site_slots()
    capacity = sum(s.free for s in sites)
    if capacity <= 0:
        return {"assigned": 0, "waiting": 0}
    rows = list(brokerable_jobs().order_by("-priority", "pk")[: min(capacity, limit)])
    if not rows:
        return {"assigned": 0, "waiting": 0}
    jobs = jobs_to_broker(rows)
    chosen = broker(jobs, sites)
    by_site = {job_id: {"site_id": site_id} for job_id, site_id in chosen.items()}
    with transaction.atomic():
        moved = jobs_move(job_ids=list(chosen), move="assign", per_job=by_site)
        # jobs_move locked the jobs' tasks: a task aborted since its jobs were read is seen now, and its jobs are
        # cancelled before the grid is told to run them (the abort cancels what it sees; this is the rest).
        stopped_jobs = Job.objects.filter(pk__in=moved, task__status__in=STOPPED_TASK_STATUSES)
        stopped = set(stopped_jobs.values_list("pk", flat=True))
        if stopped:
            jobs_move(job_ids=sorted(stopped), move="cancel")
            moved = [pk for pk in moved if pk not in stopped]
    if moved:
        get_executor().submit(moved)
        task_ids = {task_id for pk, task_id, *_ in rows if pk in set(moved)}
        tasks_start(task_ids=task_ids)
    return {"assigned": len(moved), "waiting": len(rows) - len(moved)}


def site_slots() -> list[SiteSlots]:
    active = dict(
        Job.objects.filter(status__in=(JobStatus.ASSIGNED, JobStatus.RUNNING), site__isnull=False)
        .values_list("site")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [
        SiteSlots(id=pk, name=name, tier=tier, free=max(slots - active.get(pk, 0), 0))
        for pk, name, tier, slots in Site.objects.filter(online=True).values_list("pk", "name", "tier", "slots")
    ]


def brokerable_jobs():
    """Defined jobs of runnable tasks: never of paused or aborting tasks; no new deriv work for soft finish."""
    now = timezone.now()
    return Job.objects.filter(
        Q(not_before__isnull=True) | Q(not_before__lte=now),
        Q(task__soft_finish=False) | Q(job_type=JobType.MERGE),
        status=JobStatus.DEFINED,
        task__status__in=BROKERED_TASK_STATUSES,
    ).values_list("pk", "task_id", "priority", "job_type", "inputs", "previous__site_id")


def jobs_to_broker(rows) -> list[JobToBroker]:
    deriv_lfns = {pk: {lb[0] for lb in inputs} for pk, _, _, job_type, inputs, _ in rows if job_type == JobType.DERIV}
    merge_ids = [pk for pk, _, _, job_type, _, _ in rows if job_type == JobType.MERGE]
    lfn_sites = replica_sites(set().union(*deriv_lfns.values()) if deriv_lfns else set())
    merge_sites = merge_input_sites(merge_ids)
    jobs = []
    for pk, _task_id, priority, job_type, _inputs, avoid in rows:
        if job_type == JobType.MERGE:
            data_sites = merge_sites.get(pk, set())
        else:
            data_sites = common_sites([lfn_sites.get(lfn, set()) for lfn in deriv_lfns[pk]])
        jobs.append(
            JobToBroker(
                id=pk,
                priority=priority,
                is_merge=job_type == JobType.MERGE,
                data_sites=frozenset(data_sites),
                avoid_site=avoid,
            )
        )
    return jobs


def common_sites(site_sets: list[set]) -> set:
    """Sites holding every input file; if none holds them all, those holding any (the rest is read remotely)."""
    if not site_sets:
        return set()
    both = set.intersection(*site_sets)
    return both or set.union(*site_sets)


def replica_sites(lfns: set[str], chunk: int = 2000) -> dict[str, set[int]]:
    sites: dict[str, set[int]] = defaultdict(set)
    lfns = sorted(lfns)
    for start in range(0, len(lfns), chunk):
        rows = Replica.objects.filter(
            file__lfn__in=lfns[start : start + chunk], state=ReplicaState.AVAILABLE
        ).values_list("file__lfn", "endpoint__site_id")
        for lfn, site_id in rows:
            sites[lfn].add(site_id)
    return sites


def merge_input_sites(merge_ids: list[int]) -> dict[int, set[int]]:
    """A merge job's data sites: where the deriv jobs that wrote its unmerged inputs ran (their PRODDISK)."""
    sites: dict[int, set[int]] = defaultdict(set)
    rows = JobOutput.objects.filter(merged_into__in=merge_ids).values_list("merged_into", "job__site_id")
    for merge_id, site_id in rows:
        if site_id is not None:
            sites[merge_id].add(site_id)
    return sites


def tasks_start(*, task_ids) -> None:
    """Tasks whose first jobs were brokered are running; started_at is stamped once."""
    moved = tasks_move(task_ids=task_ids, move="start")
    if moved:
        ProductionTask.objects.filter(pk__in=moved, started_at__isnull=True).update(started_at=timezone.now())
