"""The engine's services one by one: defining tasks, merge planning and cleanup, replication, task end."""

import pytest
from django.db import connection

from catalog.models import Replica, ReplicationRule, StorageEndpoint, TokenType
from requests_app.models import PTag
from tasks.engine.definition import tasks_define
from tasks.engine.executors.base import JobUpdate, OutputFile
from tasks.engine.job_updates import job_updates_apply
from tasks.engine.lifecycle import tasks_end, tasks_retry_inputs
from tasks.engine.merge_moves import merges_plan
from tasks.engine.moves import jobs_create, jobs_move, tasks_move
from tasks.engine.tick import TICK_LOCK_KEY, tick, tick_lock
from tasks.models import Job, JobOutput, ProductionTask
from tests.factories import (
    DatasetFactory,
    FileFactory,
    ProductionTaskFactory,
    PTagFactory,
    SiteFactory,
    StorageEndpointFactory,
    TaskDatasetFactory,
)
from tests.tasks.world import demo_world, request_tasks, run_until_ended

TB = 1000**4


@pytest.fixture
def fast_grid(settings):
    settings.DEFT_SIM_TIME_FACTOR = 1e9
    settings.DEFT_SIM_FAILURE_RATE = 0.0


# --- defining -------------------------------------------------------------------------------------------


def test_a_task_whose_input_has_no_files_is_broken_with_a_clear_message(db):
    task = ProductionTaskFactory(input_dataset=DatasetFactory(name="mc14_8TeV.110999.Empty.merge.AOD.e1_s2_r3"))
    assert tasks_define()["broken"] == 1
    task.refresh_from_db()
    assert task.status == "broken" and "has no files" in task.error_dialog and "110999" in task.error_dialog


def test_a_ptag_that_does_not_write_the_format_breaks_the_task(db):
    file = FileFactory()
    task = ProductionTaskFactory(input_dataset=file.dataset, ptag=PTagFactory(formats=["DAOD_TOPQ1"]))
    tasks_define()
    task.refresh_from_db()
    assert task.status == "broken" and "does not write DAOD_SUSY1" in task.error_dialog


def test_defining_splits_every_lumiblock_into_exactly_one_job_and_creates_the_output_datasets(db):
    dataset = DatasetFactory(project="data12_8TeV", number=200842, physics_short="physics_Muons", tags="r4065_p1278")
    for n in range(3):
        FileFactory(dataset=dataset, events=3000, lumiblocks=[[200842, 3 * n + i, 1000] for i in range(3)])
    task = ProductionTaskFactory(input_dataset=dataset, events_per_job=2000, events_total=0)
    tasks_define()
    task.refresh_from_db()
    assert task.status == "defined" and task.events_total == 9000 and task.jobs_defined == 5
    lumiblocks = [tuple(lb[1:3]) for job in task.jobs.all() for lb in job.inputs]
    assert sorted(lumiblocks) == sorted((200842, n) for n in range(9))
    merged, unmerged = task.datasets.get(merged=True).dataset, task.datasets.get(merged=False).dataset
    assert merged.name.endswith(f"_tid{task.pk:08d}_00") and unmerged.name == merged.name + ".um"
    assert merged.status == "open"


def test_mc_files_are_split_whole_whatever_their_lumiblock_numbers(db):
    dataset = DatasetFactory()
    for _ in range(4):
        FileFactory(dataset=dataset, events=5000)  # all claim lumiblock 1 of run 195847: meaningless for MC
    task = ProductionTaskFactory(input_dataset=dataset, events_per_job=10_000)
    tasks_define()
    assert sorted(len({lb[0] for lb in job.inputs}) for job in task.jobs.all()) == [2, 2]


# --- merging and cleanup --------------------------------------------------------------------------------


def site_with_disks(name="SITE-X"):
    site = SiteFactory(name=name, slots=100)
    for token in (TokenType.DATADISK, TokenType.PRODDISK):
        StorageEndpointFactory(site=site, token_type=token, used_bytes=0, capacity_bytes=100 * TB)
    return site


def running_deriv_jobs(task, site, n):
    jobs = jobs_create(jobs=[Job(task=task, nevents=1000) for _ in range(n)])
    ids = [j.pk for j in jobs]
    jobs_move(job_ids=ids, move="assign", per_job={pk: {"site_id": site.pk} for pk in ids})
    jobs_move(job_ids=ids, move="start")
    return ids


def finish(ids, *, events=100, size=1_000_000, fmt="DAOD_SUSY1"):
    updates = [
        JobUpdate(job_id=pk, status="finished", outputs=(OutputFile(fmt, f"{fmt}.test._{pk:09d}", size, events),))
        for pk in ids
    ]
    return job_updates_apply(updates=updates)


def proddisk(site):
    return StorageEndpoint.objects.get(site=site, token_type=TokenType.PRODDISK).used_bytes


def test_finished_deriv_jobs_write_unmerged_files_on_the_site_proddisk(db):
    site, task = site_with_disks(), ProductionTaskFactory(status="running")
    finish(running_deriv_jobs(task, site, 3))
    assert proddisk(site) == 3_000_000
    assert Replica.objects.filter(file__dataset__name__endswith=".um", endpoint__site=site).count() == 3


def test_the_remainder_is_merged_only_once_no_deriv_job_can_add_to_it(db):
    site, task = site_with_disks(), ProductionTaskFactory(status="running")
    ids = running_deriv_jobs(task, site, 3)
    finish(ids[:2])
    merges_plan()
    assert not task.jobs.filter(job_type="merge").exists()  # the third job may still add to the group
    finish(ids[2:])
    merges_plan()
    merge = task.jobs.get(job_type="merge")
    assert merge.nevents == 300 and merge.merge_inputs.count() == 3


def test_merge_jobs_are_never_made_from_empty_outputs(db):
    site, task = site_with_disks(), ProductionTaskFactory(status="running")
    ids = running_deriv_jobs(task, site, 2)
    finish(ids[:1], events=0, size=0)
    finish(ids[1:])
    merges_plan()
    merge = task.jobs.get(job_type="merge")
    assert [o.job_id for o in merge.merge_inputs.all()] == ids[1:]


def run_merge(task, site, outcome):
    merge = task.jobs.get(job_type="merge", status="defined")
    jobs_move(job_ids=[merge.pk], move="assign", per_job={merge.pk: {"site_id": site.pk}})
    jobs_move(job_ids=[merge.pk], move="start")
    if outcome == "finished":
        out = OutputFile("DAOD_SUSY1", f"merged._{merge.pk}", 2_000_000, merge.nevents)
        job_updates_apply(updates=[JobUpdate(job_id=merge.pk, status="finished", outputs=(out,))])
    else:
        job_updates_apply(updates=[JobUpdate(merge.pk, "failed", "pilot", 1137, "Failed to stage-out file")])
    return merge


def test_a_finished_merge_deletes_the_unmerged_files_it_read_and_a_failed_one_keeps_them(db):
    site, task = site_with_disks(), ProductionTaskFactory(status="running")
    finish(running_deriv_jobs(task, site, 2))
    merges_plan()
    failed = run_merge(task, site, "failed")
    assert proddisk(site) == 2_000_000  # kept for the retry
    retry = failed.next_attempt
    assert retry.merge_inputs.count() == 2
    run_merge(task, site, "finished")
    assert proddisk(site) == 0
    assert JobOutput.objects.filter(merged=False, deleted=True).count() == 2
    task.refresh_from_db()
    assert task.events_done == 200 == task.datasets.get(merged=True).dataset.events


def test_the_sites_api_shows_proddisk_usage(db, api_as):
    site, task = site_with_disks(), ProductionTaskFactory(status="running")
    finish(running_deriv_jobs(task, site, 2))
    rows = api_as("shifter").get("/api/sites/").json()["results"]
    assert {r["name"]: r["proddisk_used_bytes"] for r in rows}[site.name] == 2_000_000


# --- replication and task end ---------------------------------------------------------------------------


def test_merged_outputs_go_to_the_group_disk_with_most_free_space(db, fast_grid):
    group = demo_world(datasets=2)
    _request, (task,) = request_tasks(group, count=1)
    run_until_ended()
    task.refresh_from_db()
    rule = ReplicationRule.objects.get(dataset=task.datasets.get(merged=True).dataset)
    disks = StorageEndpoint.objects.filter(token_type="GROUPDISK", physgroup="phys-susy")
    assert rule.state == "OK" and rule.endpoint in disks
    best = max(disks.exclude(pk=rule.endpoint_id), key=lambda d: d.free_bytes)
    assert rule.endpoint.free_bytes + rule.dataset.bytes >= best.free_bytes


def test_no_matching_endpoint_leaves_the_rule_stuck_and_the_task_says_why(db, fast_grid):
    group = demo_world(datasets=2)
    _request, (task,) = request_tasks(group, count=1, destination="type=GROUPDISK&physgroup=phys-nobody")
    run_until_ended()
    task.refresh_from_db()
    rule = ReplicationRule.objects.get(dataset=task.datasets.get(merged=True).dataset)
    assert rule.state == "STUCK" and rule.endpoint is None
    assert "phys-nobody" in task.error_dialog and "stuck" in task.error_dialog
    assert task.status == "done"  # the events are merged; the rule waits for a person


def test_an_aborted_task_ends_once_its_jobs_stopped(db, fast_grid):
    group = demo_world(datasets=2)
    _request, (task,) = request_tasks(group, count=1)
    tick()
    tick()  # jobs are running now
    tasks_move(task_ids=[task.pk], move="abort")
    tasks_end()
    task.refresh_from_db()
    assert task.status == "toabort"
    run_until_ended()
    task.refresh_from_db()
    assert task.status == "aborted" and task.ended_at and task.jobs_active == 0
    assert task.jobs_cancelled > 0


def test_retrying_a_failed_task_makes_new_attempts_for_the_failed_inputs_and_runs_it_again(db, fast_grid):
    group = demo_world(datasets=2)
    ptag = PTag.objects.get(name="p1872")
    ptag.format_params["DAOD_SUSY1"]["sim_failure"] = "software"  # a broken cache ...
    ptag.save()
    _request, (task,) = request_tasks(group, count=1)
    run_until_ended()
    task.refresh_from_db()
    assert task.status == "failed"
    inputs = task.jobs.filter(attempt=1).count()
    del ptag.format_params["DAOD_SUSY1"]["sim_failure"]  # ... is fixed, and the group asks for a retry
    ptag.save()
    tasks_move(task_ids=[task.pk], move="retry")
    assert tasks_retry_inputs()["jobs"] == inputs
    run_until_ended()
    task.refresh_from_db()
    assert task.status == "done" and task.ended_at is not None and task.events_processed == task.events_total
    assert task.jobs.filter(attempt=3, status="finished", job_type="deriv").count() == inputs


def test_a_soft_finished_task_ends_when_its_running_jobs_end(db, fast_grid):
    group = demo_world(datasets=4)
    _request, tasks = request_tasks(group, count=4)
    task = max(tasks, key=lambda t: t.input_dataset.files)
    tick()  # defined and brokered
    ProductionTask.objects.filter(pk=task.pk).update(soft_finish=True)
    run_until_ended()
    task.refresh_from_db()
    assert task.status in ("done", "finished")
    assert task.jobs_active == 0


def test_a_tick_does_nothing_while_another_holds_the_lock(db):
    if connection.vendor != "postgresql":
        with tick_lock() as acquired:
            assert acquired
            assert tick() == {"skipped": "another tick is running"}
        return
    other = connection.copy()  # another session, as another worker would be
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [TICK_LOCK_KEY])
        assert tick() == {"skipped": "another tick is running"}
    finally:
        other.close()


def test_a_container_input_is_split_over_its_members_files_into_the_datasets_the_request_registered(db):
    members = [DatasetFactory(), DatasetFactory()]
    for member in members:
        FileFactory(dataset=member, events=4000)
    container = DatasetFactory(name="mc14_8TeV.periodX.Container.merge.AOD.e1_s2/", is_container=True)
    container.members.add(*members)
    task = ProductionTaskFactory(input_dataset=container, events_per_job=5000)
    registered = TaskDatasetFactory(
        task=task, dataset__name=f"mc14_8TeV.1.X.deriv.DAOD_SUSY1.e1_p1_tid{task.pk:08d}_00"
    )
    tasks_define()
    task.refresh_from_db()
    assert task.status == "defined" and task.jobs_defined == 2 and task.events_total == 8000
    assert task.datasets.get(merged=True).dataset == registered.dataset
    assert task.datasets.get(merged=False).dataset.name == registered.dataset.name + ".um"
