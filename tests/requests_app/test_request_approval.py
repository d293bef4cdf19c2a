"""Sending and approving: one mail each, tasks registered in bulk with real names, idempotent, duplicates refused."""

import pytest
from django.core import mail

from catalog.models import Dataset
from catalog.naming import merged_dataset_name, output_dataset_name, task_name
from requests_app import services
from requests_app.models import RequestStatus
from requests_app.registration import unregistered_slices
from tasks.models import Operation, ProductionTask, TaskDataset
from tasks.operations.runner import operation_run
from tests.factories import DatasetFactory, ProductionTaskFactory, SliceFactory


def approve(api, request, capture):
    with capture(execute=True):
        return api.post(f"/api/requests/{request.pk}/approve/", {"comment": "fine"}, format="json")


def test_send_moves_a_draft_to_waiting_and_mails_the_group_once(
    draft, django_capture_on_commit_callbacks, api_for, susy_manager
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(susy_manager).post(f"/api/requests/{draft.pk}/send/")
    assert response.status_code == 200, response.content
    draft.refresh_from_db()
    assert draft.status == RequestStatus.WAITING
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [draft.group.egroup]
    assert "Tasks to be created: 6" in mail.outbox[0].body
    assert f"/requests/{draft.pk}/" in mail.outbox[0].body


def test_approval_registers_one_task_per_format_with_real_names(
    waiting, eager_celery, django_capture_on_commit_callbacks, api_for, prodmgr
):
    response = approve(api_for(prodmgr), waiting, django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.content
    assert response.json()["operation"]["action"] == "register_tasks"
    waiting.refresh_from_db()
    assert waiting.status == RequestStatus.WORKING
    tasks = ProductionTask.objects.filter(request=waiting).select_related("input_dataset", "ptag")
    assert tasks.count() == 6
    for task in tasks:
        assert task.status == "registered"
        assert task.name == task_name(task.input_dataset.name, ptag="p1872", formats=task.formats)
        assert (task.events_total, task.priority, task.max_attempts, task.max_failures) == (10_000, 560, 30, 5)
        assert task.destination == waiting.group.destination
        link = TaskDataset.objects.select_related("dataset").get(task=task)
        expected = output_dataset_name(task.input_dataset.name, ptag="p1872", data_format=task.formats[0])
        assert link.dataset.name == merged_dataset_name(expected, task_id=task.pk)
        assert (link.dataset.status, link.dataset.data_type, link.merged) == ("open", task.formats[0], True)


def test_a_just_registered_output_is_found_by_a_pattern_search(
    waiting, eager_celery, django_capture_on_commit_callbacks, api_for, prodmgr, shifter
):
    approve(api_for(prodmgr), waiting, django_capture_on_commit_callbacks)
    task = ProductionTask.objects.filter(request=waiting, formats=["DAOD_SUSY2"]).order_by("pk").first()
    output = TaskDataset.objects.get(task=task).dataset.name
    found = api_for(shifter).get("/api/datasets/", {"name": f"mc14_8TeV.*.DAOD_SUSY2.*_tid{task.pk:08d}_00"}).json()
    assert [d["name"] for d in found["results"]] == [output]
    opened = api_for(shifter).get("/api/datasets/", {"name": "*.deriv.DAOD_SUSY*", "status": "open"}).json()
    assert opened["count"] == 6


def test_approval_mails_the_group_once_with_the_count(
    waiting, eager_celery, django_capture_on_commit_callbacks, api_for, prodmgr
):
    mail.outbox.clear()
    approve(api_for(prodmgr), waiting, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    assert "6 tasks registered" in mail.outbox[0].subject


def test_a_train_makes_one_task_per_slice_with_an_output_per_format(waiting, prodmgr):
    waiting.slices.update(train=True)
    op = services.request_approve(request=waiting, actor=prodmgr)
    operation_run(operation_id=op.pk)
    tasks = ProductionTask.objects.filter(request=waiting)
    assert tasks.count() == 3
    assert {t.name.split(".")[4] for t in tasks} == {"DAOD_SUSY1_SUSY2"}
    assert TaskDataset.objects.filter(task__request=waiting).count() == 6


def test_approving_twice_creates_nothing_more(
    waiting, eager_celery, django_capture_on_commit_callbacks, api_for, prodmgr
):
    api = api_for(prodmgr)
    approve(api, waiting, django_capture_on_commit_callbacks)
    second = approve(api, waiting, django_capture_on_commit_callbacks)
    assert second.status_code == 409
    assert "working" in second.json()["detail"]
    assert ProductionTask.objects.filter(request=waiting).count() == 6


def test_a_redelivered_registration_creates_nothing_more(waiting, prodmgr):
    op = services.request_approve(request=waiting, actor=prodmgr)
    operation_run(operation_id=op.pk)
    datasets = Dataset.objects.count()
    # the worker died after committing but before acknowledging: the same message runs again from scratch
    Operation.objects.filter(pk=op.pk).update(status="running", cursor=0)
    waiting.__class__.objects.filter(pk=waiting.pk).update(status="approved")
    operation_run(operation_id=op.pk)
    assert ProductionTask.objects.filter(request=waiting).count() == 6
    assert Dataset.objects.count() == datasets


def test_a_slice_duplicating_a_live_task_is_refused_with_a_clear_message(waiting, aods, ptag, api_for, prodmgr):
    ProductionTaskFactory(input_dataset=aods[1], ptag=ptag, formats=["DAOD_SUSY2"], status="running")
    response = api_for(prodmgr).post(f"/api/requests/{waiting.pk}/approve/")
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error.startswith("slice 2:") and "DAOD_SUSY2 duplicates live task" in error
    waiting.refresh_from_db()
    assert waiting.status == RequestStatus.WAITING
    assert not Operation.objects.exists()


def test_a_done_task_on_the_same_input_is_no_duplicate(waiting, aods, ptag, prodmgr):
    ProductionTaskFactory(input_dataset=aods[1], ptag=ptag, formats=["DAOD_SUSY2"], status="done")
    assert services.request_approve(request=waiting, actor=prodmgr).action == "register_tasks"


def test_a_container_task_counts_the_events_of_its_members(susy, susy_manager, prodmgr, ptag, aods):
    container = DatasetFactory(number=117099, tags="e1727_r5591", is_container=True)
    container.name += "/"
    container.save()
    container.members.add(*aods)
    spec = services.RequestSpec(
        group=susy, description="c", ptag=ptag, slices=[services.SliceSpec(container.name, ("DAOD_SUSY1",))]
    )
    request = services.request_create(actor=susy_manager, spec=spec)
    services.request_send(request=request, actor=susy_manager)
    operation_run(operation_id=services.request_approve(request=request, actor=prodmgr).pk)
    assert ProductionTask.objects.get(request=request).events_total == 30_000


def test_auto_approve_groups_get_their_tasks_on_send(waiting, draft, susy, susy_manager, eager_celery, aods, ptag):
    susy.auto_approve = True
    susy.save()
    spec = services.RequestSpec(
        group=susy, description="auto", ptag=ptag, slices=[services.SliceSpec(aods[0].name, ("DAOD_TOPQ1",))]
    )
    request = services.request_create(actor=susy_manager, spec=spec)
    op = services.request_send(request=request, actor=susy_manager)
    operation_run(operation_id=op.pk)
    request.refresh_from_db()
    assert request.status == RequestStatus.WORKING
    assert ProductionTask.objects.filter(request=request).count() == 1


def test_a_held_request_stops_registering(waiting, prodmgr):
    op = services.request_approve(request=waiting, actor=prodmgr)
    services.request_hold(request=waiting, actor=prodmgr, comment="wrong cache")
    op = operation_run(operation_id=op.pk)
    assert op.status == "failed"
    assert not ProductionTask.objects.filter(request=waiting).exists()


def test_every_change_is_in_the_timeline(waiting, prodmgr):
    services.request_hold(request=waiting, actor=prodmgr, comment="checking the cache")
    services.request_release(request=waiting, actor=prodmgr)
    events = list(services.history(waiting))
    assert [e.verb for e in events] == ["create", "send", "hold", "release"]
    assert events[2].actor == prodmgr and events[2].comment == "checking the cache"


@pytest.mark.parametrize("verb", ["hold", "cancel"])
def test_hold_and_cancel_through_the_api(waiting, verb, api_for, prodmgr):
    response = api_for(prodmgr).post(f"/api/requests/{waiting.pk}/{verb}/")
    assert response.status_code == 200
    waiting.refresh_from_db()
    assert waiting.status == {"hold": "hold", "cancel": "cancelled"}[verb]


def test_preview_lists_tasks_jobs_sizes_destination_and_problems(waiting, ptag, aods, group_disk, api_for, shifter):
    ProductionTaskFactory(input_dataset=aods[0], ptag=ptag, formats=["DAOD_SUSY1"], status="running")
    body = api_for(shifter).get(f"/api/requests/{waiting.pk}/preview/").json()
    assert body["totals"]["tasks"] == 6
    assert body["totals"]["input_events"] == 60_000
    assert body["totals"]["jobs"] >= 6
    # 30,000 events x 10,000 bytes x 0.2 skim efficiency per format
    assert body["totals"]["output_bytes"] == {"DAOD_SUSY1": 60_000_000, "DAOD_SUSY2": 60_000_000}
    assert body["destination"]["endpoint"] == group_disk.name
    assert any("duplicates live task" in p["problem"] and p["slice"] == 1 for p in body["problems"])


def test_a_period_container_previews_without_naming_problems_and_registers_period_names(
    susy, susy_manager, prodmgr, ptag, aods, api_for
):
    """The demo's period containers (deft/demo.py) are real ATLAS names: their tasks and outputs are named."""
    period = "data12_8TeV.periodB.physics_Muons.PhysCont.AOD.repro14_v01/"
    container = DatasetFactory(name=period, project="data12_8TeV", prod_step="PhysCont", is_container=True)
    container.members.add(*aods)
    spec = services.RequestSpec(
        group=susy, description="period", ptag=ptag, slices=[services.SliceSpec(period, ("DAOD_SUSY1", "DAOD_SUSY2"))]
    )
    request = services.request_create(actor=susy_manager, spec=spec)
    services.request_send(request=request, actor=susy_manager)
    body = api_for(prodmgr).get(f"/api/requests/{request.pk}/preview/").json()
    assert body["problems"] == []
    expected_task = "data12_8TeV.periodB.physics_Muons.PhysCont.DAOD_SUSY1.repro14_v01_p1872"
    assert [t["name"] for t in body["tasks"]] == [expected_task, expected_task.replace("SUSY1", "SUSY2")]
    operation_run(operation_id=services.request_approve(request=request, actor=prodmgr).pk)
    task = ProductionTask.objects.get(request=request, formats=["DAOD_SUSY1"])
    assert (task.name, task.events_total) == (expected_task, 30_000)
    output = TaskDataset.objects.select_related("dataset").get(task=task).dataset
    assert output.name == f"{expected_task}_tid{task.pk:08d}_00"
    assert (output.project, output.number, output.prod_step, output.data_type) == (
        "data12_8TeV",
        None,
        "PhysCont",
        "DAOD_SUSY1",
    )


def test_a_batch_reads_only_its_own_slices_when_another_request_interleaves(waiting, ptag):
    ours = list(waiting.slices.order_by("pk"))
    theirs = SliceFactory(ptag=ptag)  # a pk between ours would be read by the pk range: it must not be taken
    later = SliceFactory(request=waiting, ptag=ptag, position=9)
    ProductionTaskFactory(request=waiting, slice=ours[1], input_dataset=ours[1].dataset, ptag=ptag)
    batch = [ours[0].pk, ours[1].pk, ours[2].pk, later.pk]
    assert [s.pk for s in unregistered_slices(waiting, batch)] == [ours[0].pk, ours[2].pk, later.pk]
    assert [s.pk for s in unregistered_slices(waiting, [later.pk])] == [later.pk]
    assert unregistered_slices(theirs.request, [theirs.pk])[0].pk == theirs.pk
