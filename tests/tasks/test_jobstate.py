"""Job and task moves are compare-and-set and keep the task counters equal to a recount."""

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Count

from tasks.engine.moves import jobs_create, jobs_move, tasks_move
from tasks.models import Job, ProductionTask
from tests.factories import ProductionTaskFactory


def recount(task):
    by_status = dict(task.jobs.values_list("status").annotate(n=Count("id")).order_by())
    return {
        f"jobs_{s}": by_status.get(s, 0) for s in ("defined", "assigned", "running", "finished", "failed", "cancelled")
    }


def counters(task):
    task.refresh_from_db()
    return {f: getattr(task, f) for f in recount(task)}


def test_counters_follow_every_move(db):
    task = ProductionTaskFactory()
    jobs = jobs_create(jobs=[Job(task=task, nevents=1000) for _ in range(5)])
    ids = [j.pk for j in jobs]
    assert counters(task) == recount(task) and task.jobs_defined == 5
    jobs_move(job_ids=ids[:4], move="assign")
    jobs_move(job_ids=ids[:3], move="start")
    jobs_move(job_ids=ids[:1], move="finish")
    jobs_move(job_ids=ids[1:2], move="fail", per_job={ids[1]: {"error_source": "pilot", "error_code": 1099}})
    jobs_move(job_ids=ids, move="cancel")
    assert counters(task) == recount(task)
    assert (task.jobs_finished, task.jobs_failed, task.jobs_cancelled) == (1, 1, 3)
    assert Job.objects.get(pk=ids[1]).error_code == 1099


def test_a_move_skips_jobs_not_in_a_source_status(db):
    task = ProductionTaskFactory()
    ids = [j.pk for j in jobs_create(jobs=[Job(task=task) for _ in range(3)])]
    assert jobs_move(job_ids=ids, move="start") == []  # defined jobs cannot start before assignment
    assert jobs_move(job_ids=ids, move="cancel") == ids
    assert jobs_move(job_ids=ids, move="cancel") == []  # a final status never changes again
    assert counters(task) == recount(task)


def test_finished_deriv_jobs_count_processed_events_and_merge_jobs_count_done_events(db):
    task = ProductionTaskFactory()
    deriv, merge = jobs_create(jobs=[Job(task=task, nevents=700), Job(task=task, job_type="merge", nevents=700)])
    for move in ("assign", "start", "finish"):
        jobs_move(job_ids=[deriv.pk, merge.pk], move=move)
    task.refresh_from_db()
    assert (task.events_processed, task.events_done) == (700, 700)


def test_jobs_of_a_missing_task_are_refused_and_nothing_is_written(db):
    task = ProductionTaskFactory()
    jobs = [Job(task=task), Job(task_id=task.pk + 1000)]  # the database keeps no FK constraint: the service checks
    with pytest.raises(IntegrityError, match=str(task.pk + 1000)), transaction.atomic():
        jobs_create(jobs=jobs)
    assert not Job.objects.exists()
    assert counters(task) == recount(task)


def test_inputs_read_back_as_written_and_filtered_job_lists_still_work(db):
    task = ProductionTaskFactory()
    inputs = [["data12_8TeV.00200842.AOD._0001.pool.root.1", 200842, 7, 1250], ['tab\tand "quote"', 1, 2, 3]]
    [job] = jobs_create(jobs=[Job(task=task, inputs=inputs)])
    assert Job.objects.get(pk=job.pk).inputs == inputs
    Job.objects.filter(pk=job.pk).update(inputs=[])
    assert Job.objects.get(pk=job.pk).inputs == []
    # a filtered list's DISTINCT compares every column, the inputs too
    assert list(Job.objects.filter(task__status=task.status).distinct().values_list("pk", flat=True)) == [job.pk]


def test_task_moves_are_compare_and_set(db):
    running, done = ProductionTaskFactory(status="running"), ProductionTaskFactory(status="done")
    assert tasks_move(task_ids=[running.pk, done.pk], move="abort") == [running.pk]
    assert ProductionTask.objects.get(pk=done.pk).status == "done"
    assert ProductionTask.objects.get(pk=running.pk).status == "toabort"
