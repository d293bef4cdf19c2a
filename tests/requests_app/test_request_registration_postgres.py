"""On PostgreSQL (COPY path) and with a real worker: a 1,000-slice request registered exactly once."""

import time

import pytest

from catalog.models import Dataset
from catalog.naming import merged_dataset_name, output_dataset_name, task_name
from requests_app import services
from requests_app.models import ProductionRequest, Slice
from tasks.models import Operation, ProductionTask, TaskDataset
from tasks.operations.runner import operation_run
from tests.factories import DatasetFactory, ProductionRequestFactory

SLICES = 1000


def big_request(susy, requester, ptag, *, slices=SLICES):
    """A waiting request of `slices` AOD inputs (10,000 events each), two formats, single carriage."""
    inputs = Dataset.objects.bulk_create(
        [
            Dataset(
                name=f"mc14_8TeV.{200000 + i}.Sherpa_CT10_Zee.merge.AOD.e1727_s1933_r5591",
                project="mc14_8TeV",
                number=200000 + i,
                physics_short="Sherpa_CT10_Zee",
                prod_step="merge",
                data_type="AOD",
                tags="e1727_s1933_r5591",
                events=10_000,
            )
            for i in range(slices)
        ]
    )
    request = ProductionRequestFactory(group=susy, requester=requester, status="waiting")
    Slice.objects.bulk_create(
        [
            Slice(
                request=request,
                position=i,
                dataset=d,
                dataset_name=d.name,
                ptag=ptag,
                formats=["DAOD_SUSY1", "DAOD_SUSY2"],
            )
            for i, d in enumerate(inputs, start=1)
        ]
    )
    return request


def assert_registered_once(request):
    tasks = list(ProductionTask.objects.filter(request=request).select_related("input_dataset"))
    assert len(tasks) == 2 * SLICES
    assert len({(t.slice_id, tuple(t.formats)) for t in tasks}) == 2 * SLICES
    outputs = dict(TaskDataset.objects.filter(task__request=request).values_list("task_id", "dataset__name"))
    assert len(outputs) == 2 * SLICES
    for task in tasks:
        source = task.input_dataset.name
        assert task.name == task_name(source, ptag="p1872", formats=task.formats)
        output = output_dataset_name(source, ptag="p1872", data_format=task.formats[0])
        assert outputs[task.pk] == merged_dataset_name(output, task_id=task.pk)
        assert (task.status, task.events_total, task.jobs_defined, task.events_done) == ("registered", 10_000, 0, 0)


@pytest.mark.postgres
def test_a_thousand_slice_request_registers_every_task_once(susy, prodmgr, ptag):
    request = big_request(susy, prodmgr, ptag)
    op = services.request_approve(request=request, actor=prodmgr)
    op = operation_run(operation_id=op.pk, batch_size=300)
    assert (op.status, op.done, op.skipped, op.failed) == ("done", SLICES, 0, 0)
    assert op.params["tasks"] == 2 * SLICES
    request.refresh_from_db()
    assert request.status == "working"
    assert_registered_once(request)
    opened = Dataset.objects.filter(status="open").values_list("project", "prod_step", "data_type").distinct()
    assert set(opened) == {("mc14_8TeV", "deriv", "DAOD_SUSY1"), ("mc14_8TeV", "deriv", "DAOD_SUSY2")}


@pytest.mark.postgres
def test_approving_a_thousand_slices_twice_creates_nothing_more(susy, prodmgr, ptag):
    request = big_request(susy, prodmgr, ptag)
    op = services.request_approve(request=request, actor=prodmgr)
    operation_run(operation_id=op.pk)
    with pytest.raises(services.InvalidTransition, match="working"):
        services.request_approve(request=request, actor=prodmgr)
    ProductionRequest.objects.filter(pk=request.pk).update(status="approved")  # a second delivery, from scratch
    Operation.objects.filter(pk=op.pk).update(status="running", cursor=0)
    op = operation_run(operation_id=op.pk)
    assert op.skipped == SLICES
    assert_registered_once(request)


@pytest.mark.postgres
def test_a_duplicate_slice_is_refused_at_approval(susy, prodmgr, ptag):
    first = big_request(susy, prodmgr, ptag, slices=3)
    operation_run(operation_id=services.request_approve(request=first, actor=prodmgr).pk)
    again = ProductionRequestFactory(group=susy, requester=prodmgr, status="waiting")
    source = first.slices.get(position=2)
    Slice.objects.create(request=again, position=1, dataset=source.dataset, dataset_name=source.dataset_name,
                         ptag=ptag, formats=["DAOD_SUSY2"])  # fmt: skip
    with pytest.raises(services.RequestInvalid) as refused:
        services.request_approve(request=again, actor=prodmgr)
    assert "slice 1:" in refused.value.messages[0] and "duplicates live task" in refused.value.messages[0]
    assert not ProductionTask.objects.filter(request=again).exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_registers_an_approved_request(celery_worker_process):
    from deft.models import Membership, PhysicsGroup, Role
    from tests.factories import PTagFactory, UserFactory

    susy = PhysicsGroup.objects.create(name="PHYS-SUSY", code="SUSY", egroup="s@example.org", destination="type=X")
    prodmgr = UserFactory(username="prodmgr")
    Membership.objects.create(user=prodmgr, group=None, role=Role.PRODUCTION_MANAGER)
    ptag = PTagFactory(name="p1872")
    request = ProductionRequestFactory(group=susy, requester=prodmgr, status="waiting")
    for i, dataset in enumerate(DatasetFactory.create_batch(5, events=20_000), start=1):
        Slice.objects.create(request=request, position=i, dataset=dataset, dataset_name=dataset.name, ptag=ptag,
                             formats=["DAOD_SUSY1"])  # fmt: skip
    services.request_approve(request=request, actor=prodmgr)  # queued on commit (autocommit here)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        request.refresh_from_db()
        if request.status == "working":
            break
        time.sleep(0.3)
    assert request.status == "working"
    assert ProductionTask.objects.filter(request=request, status="registered").count() == 5
