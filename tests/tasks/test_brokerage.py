"""Brokerage: jobs go where their input is and slots are free; priority first; 950+ to T1; retries elsewhere."""

from tasks.engine.brokerage import JobToBroker, SiteSlots, broker, jobs_broker
from tasks.engine.moves import jobs_create, jobs_move
from tasks.models import Job
from tests.factories import FileFactory, ProductionTaskFactory, ReplicaFactory, SiteFactory, StorageEndpointFactory

T2_A = SiteSlots(id=1, name="A-T2", tier="T2", free=5)
T2_B = SiteSlots(id=2, name="B-T2", tier="T2", free=5)
T1_C = SiteSlots(id=3, name="C-T1", tier="T1", free=5)
T0_D = SiteSlots(id=4, name="D-T0", tier="T0", free=1)


def test_jobs_go_to_a_site_holding_their_input():
    jobs = [JobToBroker(id=10, priority=560, data_sites=frozenset({2}))]
    assert broker(jobs, [T2_A, T2_B, T1_C]) == {10: 2}


def test_jobs_wait_when_the_sites_with_their_input_are_full():
    full = SiteSlots(id=2, name="B-T2", tier="T2", free=0)
    jobs = [JobToBroker(id=10, priority=560, data_sites=frozenset({2}))]
    assert broker(jobs, [T2_A, full]) == {}


def test_higher_priority_jobs_take_the_last_slot():
    one_slot = SiteSlots(id=1, name="A-T2", tier="T2", free=1)
    jobs = [
        JobToBroker(id=1, priority=560, data_sites=frozenset({1})),
        JobToBroker(id=2, priority=570, data_sites=frozenset({1})),
    ]
    assert broker(jobs, [one_slot]) == {2: 1}


def test_priority_950_and_above_goes_to_t1_sites_only_and_t0_counts_as_t1():
    jobs = [JobToBroker(id=n, priority=950, data_sites=frozenset({1})) for n in range(3)]
    chosen = broker(jobs, [T2_A, T1_C, T0_D])
    assert set(chosen.values()) <= {T1_C.id, T0_D.id} and len(chosen) == 3


def test_a_retry_avoids_the_site_where_its_previous_attempt_failed():
    jobs = [JobToBroker(id=10, priority=560, data_sites=frozenset({1, 2}), avoid_site=2)]
    assert broker(jobs, [T2_A, T2_B]) == {10: 1}


def test_a_retry_whose_data_sit_only_at_the_failing_site_reads_them_from_another_site():
    jobs = [JobToBroker(id=10, priority=560, data_sites=frozenset({1}), avoid_site=1)]
    assert broker(jobs, [T2_A, T2_B]) == {10: 2}


def test_jobs_spread_over_the_sites_with_most_free_slots():
    jobs = [JobToBroker(id=n, priority=560, data_sites=frozenset({1, 2})) for n in range(4)]
    chosen = broker(jobs, [T2_A, T2_B])
    assert sorted(chosen.values()) == [1, 1, 2, 2]


def task_with_input_at(site, *, status="running", **fields):
    disk = StorageEndpointFactory(site=site)
    file = FileFactory()
    ReplicaFactory(file=file, endpoint=disk)
    task = ProductionTaskFactory(status=status, input_dataset=file.dataset, **fields)
    return task, [file.lfn, 195847, 1, 5000]


def test_slots_taken_by_active_jobs_are_not_given_again(db):
    site = SiteFactory(name="SMALL", slots=3)
    task, lumiblock = task_with_input_at(site)
    jobs = jobs_create(jobs=[Job(task=task, inputs=[lumiblock], nevents=5000) for _ in range(5)])
    jobs_move(job_ids=[jobs[0].pk], move="assign", per_job={jobs[0].pk: {"site_id": site.pk}})
    report = jobs_broker()
    assert report["assigned"] == 2
    assert Job.objects.filter(site=site, status="assigned").count() == 3


def test_jobs_of_paused_or_aborting_tasks_and_new_work_of_soft_finished_tasks_wait(db):
    site = SiteFactory(name="ANY", slots=10)
    held = []
    for fields in ({"status": "paused"}, {"status": "toabort"}, {"status": "running", "soft_finish": True}):
        task, lumiblock = task_with_input_at(site, **fields)
        held += jobs_create(jobs=[Job(task=task, inputs=[lumiblock])])
    assert jobs_broker()["assigned"] == 0
    assert set(Job.objects.filter(pk__in=[j.pk for j in held]).values_list("status", flat=True)) == {"defined"}


def test_brokering_a_defined_task_starts_it(db):
    site = SiteFactory(name="ANY", slots=10)
    task, lumiblock = task_with_input_at(site, status="defined")
    jobs_create(jobs=[Job(task=task, inputs=[lumiblock])])
    jobs_broker()
    task.refresh_from_db()
    assert task.status == "running" and task.started_at is not None
