"""Failures on the simulated grid: site faults are retried elsewhere, software errors are not retried blindly,
and the counters equal a recount however the jobs ended."""

from django.db.models import Count, Max, Sum

from tasks.engine.executors.simulated import SimulatedGrid, sim_jobs
from tasks.models import Job, JobOutput, ProductionTask
from tests.tasks.world import demo_world, request_tasks, run_until_ended, software_failing_tasks, stage_in_failing_site


def test_a_site_that_always_fails_stage_in_gets_its_jobs_retried_elsewhere(db, fast_grid):
    group = demo_world(datasets=6)
    _request, tasks = request_tasks(group, count=6)
    bad_site = stage_in_failing_site(tasks[0])
    run_until_ended()
    failed_there = Job.objects.filter(site=bad_site, status="failed")
    assert failed_there.exists()
    assert set(failed_there.values_list("error_source", "error_code", "error_class")) == {("pilot", 1099, "site")}
    for job in failed_there:
        retry = job.next_attempt
        assert retry.site_id != bad_site.pk and retry.attempt == job.attempt + 1
        assert retry.failures == job.failures == 0  # a site error does not use the input's failure budget
    assert set(ProductionTask.objects.values_list("status", flat=True)) == {"done"}


def test_a_job_failing_with_a_software_error_is_not_retried_blindly(db, fast_grid):
    tasks = software_failing_tasks(2)
    run_until_ended()
    for task in ProductionTask.objects.filter(pk__in=[t.pk for t in tasks]):
        assert task.status == "failed"
        assert "software" in task.error_dialog and "not retried" in task.error_dialog
        attempts = task.jobs.aggregate(a=Max("attempt"))["a"]
        assert attempts < task.max_failures  # given up on the software error, not on the failure budget
        # the segfault diagnostic splits the catch-all trf 65 into 2004 (crash inside the payload)
        codes = set(task.jobs.values_list("error_original_code", "error_code", "error_class"))
        assert codes == {(65, 2004, "software")}


def recount(task):
    by_status = dict(task.jobs.values_list("status").annotate(n=Count("id")).order_by())
    return {
        f"jobs_{s}": by_status.get(s, 0) for s in ("defined", "assigned", "running", "finished", "failed", "cancelled")
    }


def test_counters_equal_a_recount_after_a_run_with_failures(db, fast_grid, settings):
    settings.DEFT_SIM_FAILURE_RATE = 0.3
    group = demo_world(datasets=8)
    _request, tasks = request_tasks(group, count=8, formats=("DAOD_SUSY1", "DAOD_SUSY2"))
    run_until_ended()
    assert Job.objects.filter(status="failed").count() > 5
    for task in ProductionTask.objects.all():
        assert {k: getattr(task, k) for k in recount(task)} == recount(task)
        finished = task.jobs.filter(status="finished")
        assert task.events_processed == finished.filter(job_type="deriv").aggregate(e=Sum("nevents"))["e"]
        merged = JobOutput.objects.filter(job__task=task, merged=True).aggregate(e=Sum("events"))["e"]
        assert task.events_done == merged == sum(td.dataset.events for td in task.datasets.filter(merged=True))


def test_the_simulated_grid_gives_a_job_the_same_fate_whatever_the_tick(db, fast_grid, settings):
    settings.DEFT_SIM_FAILURE_RATE = 0.5
    group = demo_world(datasets=2)
    request_tasks(group, count=2)
    from tasks.engine.tick import tick

    tick()
    jobs = sim_jobs(Job.objects.all())
    grid = SimulatedGrid()
    first = [grid.fate(job, failing_sites=set()) for job in jobs]
    assert first == [grid.fate(job, failing_sites=set()) for job in jobs]
    settings.DEFT_SIM_SEED = 7
    assert first != [grid.fate(job, failing_sites=set()) for job in jobs]
