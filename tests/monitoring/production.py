"""A small production driven only through the engine's moves (tasks.engine.moves): jobs that finish, fail, get
retried and merged, a merge that fails, an aborted task.
Shared by the rollup tests, the page tests and the browser journey."""

from dataclasses import dataclass, field

from monitoring import rollups
from tasks.engine.merge_moves import inputs_settle
from tasks.engine.moves import jobs_create, jobs_move, tasks_move
from tasks.models import Job, JobOutput, ProductionTask
from tests.factories import (
    ProductionRequestFactory,
    ProductionTaskFactory,
    PTagFactory,
    SiteFactory,
    SliceFactory,
)

STAGE_IN = {"error_source": "pilot", "error_code": 1099, "error_class": "site", "error_diag": "stage-in failed"}
TRF_CRASH = {"error_source": "trf", "error_code": 65, "error_class": "software", "error_diag": "non-zero exit"}
MERGE_OOM = {"error_source": "pilot", "error_code": 1212, "error_class": "resource", "error_diag": "out of memory"}


@dataclass
class Production:
    tasks: list = field(default_factory=list)
    site: object = None


def register(request, *, formats, n_jobs=4, events_per_job=1000, slice_=None) -> ProductionTask:
    """A task as registration makes it (then counted in the rollups), with its deriv jobs defined."""
    task = ProductionTaskFactory(
        request=request,
        ptag=PTagFactory(name="p1872"),
        formats=formats,
        slice=slice_,
        events_total=n_jobs * events_per_job,
        status="registered",
    )
    rollups.on_tasks_created([task])
    jobs_create(jobs=[Job(task=task, nevents=events_per_job, inputs=inputs_of(task, i)) for i in range(n_jobs)])
    tasks_move(task_ids=[task.pk], move="define")
    return task


def inputs_of(task, i):
    return [[f"AOD.{task.pk:06d}._{i:06d}.pool.root.1", 200842, 10 * i + 1, 1000]]


def run(job_ids, site, *, end="finish", per_job=None):
    jobs_move(job_ids=job_ids, move="assign", values={"site": site})
    jobs_move(job_ids=job_ids, move="start")
    return jobs_move(job_ids=job_ids, move=end, per_job=per_job)


def retry(job: Job, site) -> Job:
    """A failed job's input again, as a new job with attempt + 1."""
    (new,) = jobs_create(
        jobs=[Job(task=job.task, nevents=job.nevents, inputs=job.inputs, attempt=job.attempt + 1, previous=job)]
    )
    run([new.pk], site)
    return new


def merge(task, site, *, fail=False) -> Job:
    """One merge job over the task's unmerged outputs (one per finished deriv job and format)."""
    derivs = list(task.jobs.filter(job_type="deriv", status="finished"))
    nevents = sum(j.nevents for j in derivs)
    (job,) = jobs_create(jobs=[Job(task=task, job_type="merge", nevents=nevents)])
    for d in derivs:
        for f in task.formats:
            um = f"{f}.{d.pk:08d}.um.root"
            size = d.nevents * 10**5
            JobOutput.objects.create(job=d, format=f, lfn=um, events=d.nevents, bytes=size, merged_into=job)
    run([job.pk], site, end="fail" if fail else "finish", per_job={job.pk: MERGE_OOM} if fail else None)
    if not fail:
        inputs_settle(job_ids=[d.pk for d in derivs])  # as the executor's finishing move does
        for f in task.formats:
            JobOutput.objects.create(
                job=job, format=f, lfn=f"{f}.{job.pk:08d}.merged.root", events=nevents, merged=True
            )
    return job


def small_production(susy, top) -> Production:
    """Five tasks over two groups and three formats, in every interesting state."""
    site = SiteFactory(name="CERN-PROD", tier="T0")
    other = SiteFactory(name="BNL-ATLAS", tier="T1")
    susy_req = ProductionRequestFactory(group=susy, project="mc14_8TeV")
    top_req = ProductionRequestFactory(group=top, project="mc14_8TeV")
    slice_ = SliceFactory(request=susy_req, formats=["DAOD_SUSY1", "DAOD_SUSY2"], train=True)
    prod = Production(site=site)

    # 1. done: every deriv finished (one after a site failure and a retry elsewhere), merged.
    done = register(susy_req, formats=["DAOD_SUSY1", "DAOD_SUSY2"], slice_=slice_)
    ids = list(done.jobs.values_list("pk", flat=True))
    tasks_move(task_ids=[done.pk], move="start")
    run(ids[:3], site)
    run(ids[3:], site, end="fail", per_job={ids[3]: STAGE_IN})
    retry(Job.objects.get(pk=ids[3]), other)
    merge(done, site)
    tasks_move(task_ids=[done.pk], move="complete")

    # 2. deriv finished, merge failed: the task a shifter must notice.
    bad_merge = register(susy_req, formats=["DAOD_SUSY1"])
    tasks_move(task_ids=[bad_merge.pk], move="start")
    run(list(bad_merge.jobs.values_list("pk", flat=True)), site)
    merge(bad_merge, site, fail=True)

    # 3. running: two finished, one running, one failed with a software error (not retried).
    running = register(top_req, formats=["DAOD_TOPQ1"])
    ids = list(running.jobs.values_list("pk", flat=True))
    tasks_move(task_ids=[running.pk], move="start")
    run(ids[:2], other)
    run(ids[2:3], other, end="fail", per_job={ids[2]: TRF_CRASH})
    jobs_move(job_ids=ids[3:], move="assign", values={"site": other})
    jobs_move(job_ids=ids[3:], move="start")

    # 4. aborted: one job ran, the others were cancelled.
    aborted = register(top_req, formats=["DAOD_TOPQ1", "DAOD_SUSY1"])
    ids = list(aborted.jobs.values_list("pk", flat=True))
    tasks_move(task_ids=[aborted.pk], move="start")
    run(ids[:1], site)
    tasks_move(task_ids=[aborted.pk], move="abort")
    jobs_move(job_ids=ids, move="cancel")
    tasks_move(task_ids=[aborted.pk], move="aborted")

    # 5. registered only, nothing ran.
    waiting = register(top_req, formats=["DAOD_TOPQ1"])

    prod.tasks = [done, bad_merge, running, aborted, waiting]
    return prod
