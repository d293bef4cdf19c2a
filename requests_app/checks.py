"""What a request will cost and what is wrong with it: the preview, and the checks approval refuses on.

The preview reads the files of every input (events and lumiblocks) to estimate jobs the way the splitter will
make them; approval only runs the cheap set-based checks (unknown inputs, duplicates), so it stays fast.
"""

from collections import defaultdict

from django.db.models import Count

from catalog.models import Dataset, File, ReplicaState, StorageEndpoint
from catalog.naming import DatasetNameError, task_name
from catalog.rse_expression import RSEExpressionError, choose_endpoint
from tasks.engine.splitting import InputFile, split_by_lumiblock
from tasks.models import ProductionTask
from tasks.states import TASK_ACTIVE

from .models import ProductionRequest, Slice

# --- duplicates and unknown inputs (approval refuses these) ---------------------------------------------------


def approval_problems(request: ProductionRequest) -> list[tuple[int, str]]:
    """(slice position, message) for every slice approval must refuse: unknown input, or a duplicate task."""
    slices = Slice.objects.filter(request=request)
    problems = [
        (position, f"dataset {name} is not in the catalog")
        for position, name in slices.filter(dataset__isnull=True).values_list("position", "dataset_name")
    ]
    return sorted(problems + duplicate_problems(request))


def duplicate_problems(request: ProductionRequest) -> list[tuple[int, str]]:
    """Slices that would make a task duplicating a live task (same input, p-tag and format), here or elsewhere."""
    slices = Slice.objects.filter(request=request, dataset__isnull=False)
    live = _live_formats(request, slices)
    repeated = slices.values("dataset_id", "ptag_id").annotate(n=Count("id")).filter(n__gt=1)
    suspect_ids = {key[0] for key in live} | {row["dataset_id"] for row in repeated}
    suspects = slices.filter(dataset_id__in=suspect_ids)
    problems, asked = [], {}
    for s in suspects.select_related("ptag").order_by("position"):
        for data_format in s.formats:
            key = (s.dataset_id, s.ptag_id, data_format)
            if key in live:
                task_id, task_status = live[key]
                problems.append(
                    (
                        s.position,
                        f"{s.dataset_name} with {s.ptag} {data_format} duplicates live task {task_id} ({task_status})",
                    )
                )
            elif key in asked:
                problems.append(
                    (s.position, f"{s.dataset_name} with {s.ptag} {data_format} is also asked in slice {asked[key]}")
                )
            asked.setdefault(key, s.position)
    return problems


def _live_formats(request, slices) -> dict[tuple, tuple[int, str]]:
    """(dataset, p-tag, format) -> (task id, status) of live tasks of other requests on this request's inputs."""
    return live_tasks(slices.values("dataset_id"), slices.values("ptag_id"), exclude_request=request)


def live_tasks(dataset_ids, ptag_ids, *, exclude_request=None) -> dict[tuple, tuple[int, str]]:
    """(dataset, p-tag, format) -> (task id, status) of the live tasks on these inputs with these p-tags."""
    tasks = ProductionTask.objects.filter(
        status__in=TASK_ACTIVE, input_dataset_id__in=dataset_ids, ptag_id__in=ptag_ids
    )
    if exclude_request is not None:
        tasks = tasks.exclude(request=exclude_request)
    rows = tasks.values_list("pk", "status", "input_dataset_id", "ptag_id", "formats")
    return {(ds, ptag, f): (pk, status) for pk, status, ds, ptag, formats in rows for f in formats}


def replicated(dataset_ids) -> set[int]:
    """The datasets among `dataset_ids` with a file that has an available replica (a container: of a member)."""
    members = defaultdict(set)
    for container_id, member_id in Dataset.members.through.objects.filter(from_dataset_id__in=dataset_ids).values_list(
        "from_dataset_id", "to_dataset_id"
    ):
        members[member_id].add(container_id)
    with_replica = set(
        File.objects.filter(dataset_id__in={*dataset_ids, *members}, replicas__state=ReplicaState.AVAILABLE)
        .values_list("dataset_id", flat=True)
        .distinct()
    )
    found = {d for d in with_replica if d in dataset_ids}
    return found | {c for m in with_replica for c in members.get(m, ())}


# --- the preview ----------------------------------------------------------------------------------------------


def preview(request: ProductionRequest) -> dict:
    """Tasks to be created, estimated jobs, input events, output size per format, destination and problems."""
    slices = list(Slice.objects.filter(request=request).select_related("dataset", "ptag").order_by("position"))
    inputs = _inputs_of(slices)
    problems = [
        {"slice": position, "problem": message}
        for position, message in approval_problems(request) + _input_problems(slices, inputs)
    ]
    tasks, output_bytes = [], defaultdict(int)
    for s in slices:
        for formats in s.task_formats():
            row = _task_row(s, formats, inputs, problems)
            if row is None:
                continue
            tasks.append(row)
            for data_format, size in row["output_bytes"].items():
                output_bytes[data_format] += size
    destination = _destination(request, sum(output_bytes.values()), problems)
    return {
        "request": request.pk,
        "status": request.status,
        "slices": len(slices),
        "tasks": tasks,
        "totals": {
            "tasks": len(tasks),
            "jobs": sum(t["jobs"] for t in tasks),
            "input_events": sum(t["input_events"] for t in tasks),
            "output_bytes": dict(output_bytes),
        },
        "destination": destination,
        "problems": sorted(problems, key=lambda p: p["slice"]),
    }


def _task_row(s: Slice, formats: list[str], inputs: dict, problems: list) -> dict | None:
    try:
        name = task_name(s.dataset_name.removesuffix("/"), ptag=s.ptag.name, formats=formats)
    except DatasetNameError as error:
        problems.append({"slice": s.position, "problem": f"cannot name the task of {s.dataset_name}: {error}"})
        return None
    files = inputs.get(s.dataset_id, {}).get("files", [])
    events = sum(f[1] for f in files)
    efficiency = {f: (s.ptag.params_for(f)["skim_efficiency"] if s.skim else 1.0) for f in formats}
    return {
        "slice": s.position,
        "name": name,
        "input": s.dataset_name,
        "formats": formats,
        "input_events": events,
        "files": len(files),
        "jobs": estimate_jobs(files, events_per_job=s.events_per_job, cpu=s.ptag.cpu_per_event(formats)),
        "output_bytes": {f: int(events * s.ptag.params_for(f)["bytes_per_event"] * efficiency[f]) for f in formats},
    }


def estimate_jobs(files: list[tuple], *, events_per_job: int | None, cpu: float) -> int:
    """Jobs the splitter will make from (lfn, events, lumiblocks) files: whole lumiblocks, never cut."""
    if not files:
        return 0
    units = [InputFile(lfn, [tuple(lb) for lb in lbs] or [(0, 0, events)]) for lfn, events, lbs in files]
    return len(split_by_lumiblock(units, events_per_job=events_per_job, cpu_seconds_per_event=cpu))


def _inputs_of(slices: list[Slice]) -> dict[int, dict]:
    """dataset id -> its files [(lfn, events, lumiblocks)] and whether any has an available replica.

    A container's files are its members' files.
    """
    ids = {s.dataset_id for s in slices if s.dataset_id}
    containers = {s.dataset_id for s in slices if s.dataset_id and s.dataset.is_container}
    members = defaultdict(list)
    for container_id, member_id in Dataset.members.through.objects.filter(from_dataset_id__in=containers).values_list(
        "from_dataset_id", "to_dataset_id"
    ):
        members[container_id].append(member_id)
    read = (ids - containers) | {m for ms in members.values() for m in ms}
    files, replicated = defaultdict(list), set()
    for dataset_id, lfn, events, lbs in File.objects.filter(dataset_id__in=read).values_list(
        "dataset_id", "lfn", "events", "lumiblocks"
    ):
        files[dataset_id].append((lfn, events, lbs))
    replicated.update(
        File.objects.filter(dataset_id__in=read, replicas__state=ReplicaState.AVAILABLE)
        .values_list("dataset_id", flat=True)
        .distinct()
    )
    result = {}
    for dataset_id in ids:
        parts = members[dataset_id] if dataset_id in containers else [dataset_id]
        result[dataset_id] = {
            "files": [f for part in parts for f in files[part]],
            "replicated": any(part in replicated for part in parts),
        }
    return result


def _input_problems(slices: list[Slice], inputs: dict) -> list[tuple[int, str]]:
    problems = []
    for s in slices:
        found = inputs.get(s.dataset_id)
        if found is None:
            continue  # unknown: already reported by approval_problems
        if not found["files"] or not sum(f[1] for f in found["files"]):
            problems.append((s.position, f"dataset {s.dataset_name} is empty (no events)"))
        elif not found["replicated"]:
            problems.append((s.position, f"dataset {s.dataset_name} has no available replica"))
    return problems


def _destination(request: ProductionRequest, needed_bytes: int, problems: list) -> dict:
    """The endpoint the request's destination expression resolves to now, for the expected output size."""
    expression = request.effective_destination
    endpoints = list(StorageEndpoint.objects.select_related("site"))
    try:
        chosen = choose_endpoint(expression, endpoints, needed_bytes=needed_bytes)
    except RSEExpressionError as error:
        problems.append({"slice": 0, "problem": f"destination {expression!r}: {error}"})
        return {"expression": expression, "endpoint": None}
    if chosen is None:
        problems.append(
            {"slice": 0, "problem": f"destination {expression!r} matches no available endpoint with enough space"}
        )
    return {"expression": expression, "endpoint": chosen.name if chosen else None}
