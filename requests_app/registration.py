"""Register an approved request's tasks in bulk: the worker side of approval.

The work is an Operation walked in slice-primary-key batches, one transaction each. Each batch locks the
request row (so two deliveries of the same operation queue instead of racing) and skips slices that already
have tasks, so a redelivered or repeated registration creates nothing more. Per batch: one INSERT of tasks,
one of their merged output datasets, one of the links.
"""

import gc
from contextlib import contextmanager
from typing import NamedTuple

from django.db.models import Exists, OuterRef, Sum
from django.utils import timezone

from catalog.models import Dataset, DatasetStatus
from catalog.naming import DatasetNameError, merged_dataset_name, parse_dataset_name, task_names
from deft import notifications
from deft.audit import audit_record
from deft.bulk import bulk_insert
from tasks.engine import observers
from tasks.models import DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_FAILURES, Operation, ProductionTask, TaskDataset
from tasks.operations.runner import BatchResult, OperationKind, operation_kind_register
from tasks.states import TaskStatus

from .models import ProductionRequest, RequestStatus, Slice
from .states import REQUEST_MOVES

BATCH_SLICES = 5000


REGISTER_TASKS = "register_tasks"


def registration_check(op: Operation) -> str:
    """Before each batch: the request is locked (two deliveries queue) and must still be approved."""
    request = ProductionRequest.objects.select_for_update().get(pk=op.request_id)
    if request.status != RequestStatus.APPROVED:
        return f"request is {request.status}, not approved: registration stopped"
    return ""


def next_slices(op: Operation, cursor: int, size: int) -> list[int]:
    slices = Slice.objects.filter(request_id=op.request_id, pk__gt=cursor).order_by("pk")
    return list(slices.values_list("pk", flat=True)[:size])


def registration_apply(slice_ids: list[int], op: Operation) -> BatchResult:
    request = ProductionRequest.objects.get(pk=op.request_id)
    with _cycle_collector_paused():
        return register_slices(request, slice_ids)


@contextmanager
def _cycle_collector_paused():
    """A batch allocates some 100,000 short-lived rows, names and strings, none of them in a reference cycle:
    reference counting frees them all. Meanwhile the cyclic collector would run its full passes over the whole
    heap (Django's included) several times, some 10% of the batch's time for nothing. Cycles made meanwhile are
    collected once it is back on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def registration_finish(op: Operation) -> None:
    """All slices registered: the request is working, the history says so and the group is told."""
    request = ProductionRequest.objects.select_for_update().get(pk=op.request_id)
    started = ProductionRequest.objects.filter(pk=request.pk, status__in=REQUEST_MOVES["start"].sources).update(
        status=REQUEST_MOVES["start"].target, updated=timezone.now()
    )
    if started:
        tasks = ProductionTask.objects.filter(request=request).count()
        details = {"operation": op.pk, "tasks": tasks}
        audit_record(actor=op.actor, verb="start", obj=request, comment=f"{tasks} tasks registered", details=details)
        counts = {"slices": op.total, "tasks": tasks, "failed": op.failed}
        notifications.mail_after_commit(lambda: notifications.request_approved(request, actor=op.actor, counts=counts))


operation_kind_register(
    REGISTER_TASKS,
    OperationKind(
        next_batch=next_slices,
        apply=registration_apply,
        check=registration_check,
        finish=registration_finish,
        batch_size=lambda: BATCH_SLICES,
    ),
)


class SliceRow(NamedTuple):
    """What registration reads of a slice: plain values, because building 10,000 model instances is slow."""

    pk: int
    position: int
    dataset_name: str
    dataset_id: int
    input_name: str
    input_events: int
    is_container: bool
    ptag_id: int
    ptag: str
    memory_mb: int
    formats: list
    skim: bool
    train: bool
    events_per_job: int | None
    priority: int | None


SLICE_COLUMNS = (
    "pk", "position", "dataset_name", "dataset_id", "dataset__name", "dataset__events", "dataset__is_container",
    "ptag_id", "ptag__name", "ptag__memory_mb", "formats", "skim", "train", "events_per_job", "priority",
)  # fmt: skip


def unregistered_slices(request: ProductionRequest, slice_ids: list[int]) -> list[SliceRow]:
    """The slices among `slice_ids` (the request's) that have a catalog input and no task yet, in pk order."""
    # Read as the request's pk range of the batch, not `pk IN (5,000 ids)`: the range is an index scan whatever
    # the table's statistics say, where the list let the planner scan and hash the whole slice and catalog
    # tables (0.1-0.2 s a batch on a slice table full of dead rows, 0.03 s by the range).
    if not slice_ids:
        return []
    has_tasks = ProductionTask.objects.filter(slice=OuterRef("pk"))
    rows = (
        Slice.objects.filter(request=request, pk__gte=min(slice_ids), pk__lte=max(slice_ids), dataset__isnull=False)
        .exclude(Exists(has_tasks))
        .order_by("pk")
        .values_list(*SLICE_COLUMNS)
    )
    wanted = set(slice_ids)  # a batch is a run of the request's slices in pk order: this drops nothing then
    return [SliceRow(*row) for row in rows if row[0] in wanted]


def register_slices(request: ProductionRequest, slice_ids: list[int]) -> BatchResult:
    """Create the tasks (and their merged output datasets) of the slices that have none yet."""
    slices = unregistered_slices(request, slice_ids)
    result = BatchResult(skipped=len(slice_ids) - len(slices))
    registered = 0
    events = _input_events(slices)
    destination = request.effective_destination
    planned = []  # (task row, [(format, output name)])
    for s in slices:
        try:
            planned += plan_slice(request, s, events=events, destination=destination)
        except DatasetNameError as error:
            result.failed += 1
            result.messages.append(f"slice {s.position} ({s.dataset_name}): {error}")
            continue
        registered += 1
    task_rows = [task for task, _ in planned]
    task_ids = bulk_insert(ProductionTask, task_rows)
    observers.notify("on_task_rows_created", task_rows)  # the dashboards count them at once
    _create_outputs(task_ids, [outputs for _, outputs in planned])
    result.done, result.counts = registered, {"tasks": len(task_ids)}
    return result


def plan_slice(request: ProductionRequest, s: SliceRow, *, events: dict[int, int], destination: str) -> list[tuple]:
    """The task rows of one slice (one per format, or one per train) and the output names of each."""
    input_name = s.input_name.removesuffix("/")
    source = parse_dataset_name(input_name)
    priority = s.priority if s.priority is not None else request.priority
    planned = []
    for formats in [list(s.formats)] if s.train else [[f] for f in s.formats]:
        name, output_names = task_names(input_name, ptag=s.ptag, formats=formats)
        task = {
            "request_id": request.pk,
            "slice_id": s.pk,
            "group_id": request.group_id,
            "project": source.project,
            "name": name,
            "input_dataset_id": s.dataset_id,
            "ptag_id": s.ptag_id,
            "formats": formats,
            "skim": s.skim,
            "events_per_job": s.events_per_job,
            "priority": priority,
            "status": TaskStatus.REGISTERED,
            "destination": destination,
            "events_total": events.get(s.dataset_id, 0),
            "max_attempts": DEFAULT_MAX_ATTEMPTS,
            "max_failures": DEFAULT_MAX_FAILURES,
            "memory_mb": s.memory_mb,
        }
        planned.append((task, list(zip(formats, output_names, strict=True))))
    return planned


def _input_events(slices: list[SliceRow]) -> dict[int, int]:
    """Input events per dataset; a container's are the sum of its members'."""
    events = {s.dataset_id: s.input_events for s in slices}
    containers = [s.dataset_id for s in slices if s.is_container]
    if containers:
        sums = (
            Dataset.members.through.objects.filter(from_dataset_id__in=containers)
            .values("from_dataset_id")
            .annotate(total=Sum("to_dataset__events"))
        )
        events.update({row["from_dataset_id"]: row["total"] or 0 for row in sums})
    return events


def _create_outputs(task_ids: list[int], outputs: list[list[tuple[str, str]]]) -> None:
    """Each task's merged output datasets (status open), named with the task id, and the links to them."""
    rows, links = [], []
    for task_id, task_outputs in zip(task_ids, outputs, strict=True):
        for data_format, output_name in task_outputs:
            name = merged_dataset_name(output_name, task_id=task_id)
            rows.append(_dataset_row(name))
            links.append((task_id, data_format))
    dataset_ids = bulk_insert(Dataset, rows)
    bulk_insert(
        TaskDataset,
        [
            {"task_id": task_id, "dataset_id": dataset_id, "format": data_format, "merged": True}
            for dataset_id, (task_id, data_format) in zip(dataset_ids, links, strict=True)
        ],
    )


def _dataset_row(name: str) -> dict:
    """A catalog row for an output: its name's parts as fields, open until the task fills it."""
    # The merged name is output name + '_tidNNNNNNNN_00': its parts are the output's, which we split without
    # a regex pass (the name was checked by merged_dataset_name already). A period container's has no number.
    project, number, physics_short, prod_step, data_type, tags = name.split(".")
    return {
        "name": name,
        "project": project,
        "number": int(number) if number.isdigit() else None,
        "physics_short": physics_short,
        "prod_step": prod_step,
        "data_type": data_type,
        "tags": tags,
        "status": DatasetStatus.OPEN,
    }
