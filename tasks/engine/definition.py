"""Defining tasks: a registered task is split into deriv jobs (lumiblock-preserving) and becomes `defined`.

A task that cannot run (no input files, no events, a format its p-tag does not write) is `broken`, with an
error dialog that says why, so that the group sees it on the task page.
"""

from collections import Counter

from django.db import transaction

from catalog.models import Dataset, DatasetStatus, File
from catalog.naming import (
    UNMERGED_SUFFIX,
    DatasetNameError,
    merged_dataset_name,
    output_dataset_name,
    parse_dataset_name,
)
from tasks.engine.moves import apply_task_deltas, jobs_create, tasks_move
from tasks.engine.splitting import InputFile, split_by_lumiblock
from tasks.models import Job, JobType, ProductionTask, TaskDataset
from tasks.states import TaskStatus


class TaskCannotRun(Exception):
    """The task is broken; the message is its error dialog."""


def tasks_define(*, limit: int = 50) -> dict:
    """Split up to `limit` registered tasks into jobs, one transaction each; says what it did."""
    ids = list(
        ProductionTask.objects.filter(status=TaskStatus.REGISTERED)
        .order_by("-priority", "pk")
        .values_list("pk")[:limit]
    )
    report = {"defined": 0, "broken": 0, "jobs": 0}
    for (task_id,) in ids:
        task = ProductionTask.objects.select_related("ptag", "input_dataset").get(pk=task_id)
        try:
            report["jobs"] += task_define(task=task)
            report["defined"] += 1
        except TaskCannotRun as problem:
            tasks_move(task_ids=[task.pk], move="break", values={"error_dialog": str(problem)})
            report["broken"] += 1
    return report


def task_define(*, task: ProductionTask) -> int:
    """Create the task's jobs and output datasets and move it to `defined`; returns the number of jobs."""
    check_formats(task)
    files = input_files(task.input_dataset)
    specs = split_by_lumiblock(
        files,
        events_per_job=task.events_per_job,
        cpu_seconds_per_event=task.ptag.cpu_per_event(task.formats),
    )
    events = sum(spec.nevents for spec in specs)
    if not specs or events == 0:
        raise TaskCannotRun(f"input dataset {task.input_dataset.name} has no events to process")
    memory = max(task.memory_mb, task.ptag.memory_mb)
    jobs = [
        Job(
            task=task,
            job_type=JobType.DERIV,
            priority=task.priority,
            memory_mb=memory,
            nevents=spec.nevents,
            inputs=[list(lb) for lb in spec.lumiblocks],
        )
        for spec in specs
    ]
    with transaction.atomic():
        output_datasets_ensure(task=task)
        if not tasks_move(task_ids=[task.pk], move="define"):
            return 0  # someone else moved it (paused, aborted) meanwhile: leave it alone
        # The input's events as read from its files, through the counters so the rollups move with them.
        registered = ProductionTask.objects.filter(pk=task.pk).values_list("events_total", flat=True).get()
        if events != registered:
            apply_task_deltas({task.pk: Counter(events_total=events - registered)})
        jobs_create(jobs=jobs)
    return len(jobs)


def check_formats(task: ProductionTask) -> None:
    if not task.formats:
        raise TaskCannotRun("the task has no output formats")
    missing = [f for f in task.formats if f not in task.ptag.formats]
    if missing:
        raise TaskCannotRun(
            f"p-tag {task.ptag.name} does not write {', '.join(missing)} (it writes {', '.join(task.ptag.formats)})"
        )


def input_files(dataset: Dataset) -> list[InputFile]:
    """The files of a dataset, or of a container's member datasets. Data files bring their lumiblocks; an MC
    file is one unit of its own (its lumiblock numbers mean nothing), as is a data file without lumiblocks."""
    if dataset.is_container:
        rows = File.objects.filter(dataset__in=dataset.members.all())
    else:
        rows = File.objects.filter(dataset=dataset)
    rows = rows.order_by("dataset_id", "lfn").values_list("lfn", "events", "lumiblocks", "dataset__project")
    files = [
        InputFile(lfn, [tuple(lb) for lb in lumiblocks])
        if project.startswith("data") and lumiblocks
        else InputFile(lfn, [(0, n, events)])
        for n, (lfn, events, lumiblocks, project) in enumerate(rows, start=1)
    ]
    if not files:
        kind = "container" if dataset.is_container else "dataset"
        raise TaskCannotRun(f"input {kind} {dataset.name} has no files")
    return files


def output_datasets_ensure(*, task: ProductionTask) -> dict[str, Dataset]:
    """The task's merged (and `.um` unmerged) output dataset per format, created if the request did not."""
    have = {(td.format, td.merged): td.dataset for td in task.datasets.select_related("dataset")}
    merged = {}
    for data_format in task.formats:
        dataset = have.get((data_format, True))
        if dataset is None:
            dataset = output_dataset(merged_name(task, data_format), data_format=data_format)
            TaskDataset.objects.create(task=task, dataset=dataset, format=data_format, merged=True)
        if (data_format, False) not in have:
            # our convention (catalog.naming): the unmerged dataset is the merged one's name plus `.um`
            unmerged = output_dataset(f"{dataset.name}.{UNMERGED_SUFFIX}", data_format=data_format)
            TaskDataset.objects.create(task=task, dataset=unmerged, format=data_format, merged=False)
        merged[data_format] = dataset
    return merged


def merged_name(task: ProductionTask, data_format: str) -> str:
    try:
        output = output_dataset_name(task.input_dataset.name.rstrip("/"), ptag=task.ptag.name, data_format=data_format)
        return merged_dataset_name(output, task_id=task.pk)
    except DatasetNameError as problem:
        raise TaskCannotRun(f"cannot name the {data_format} output of {task.input_dataset.name}: {problem}") from None


def output_dataset(name: str, *, data_format: str) -> Dataset:
    fields = {"data_type": data_format, "status": DatasetStatus.OPEN}
    try:
        parts = parse_dataset_name(name)
        fields.update(project=parts.project, number=parts.number, physics_short=parts.physics_short)
        fields.update(prod_step=parts.prod_step, tags=parts.tags)
    except DatasetNameError:
        pass  # a name given by the request that our parser does not read: the dataset is still usable
    dataset, _ = Dataset.objects.get_or_create(name=name, defaults=fields)
    return dataset
