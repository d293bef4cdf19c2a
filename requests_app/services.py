"""Writes on requests: create, edit, send, approve, hold, release, cancel, import. Every change is audited.

Each status change is a compare-and-set against REQUEST_MOVES; a request that is no longer in a source status
is left alone and the caller is told why (InvalidTransition). Mail and queueing run in `transaction.on_commit`.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from catalog.models import Dataset
from catalog.naming import DatasetNameError, parse_dataset_name
from deft import notifications, permissions
from deft.audit import audit_history, audit_record
from deft.models import PhysicsGroup
from tasks.models import Operation
from tasks.operations.runner import operation_create

from . import checks
from .checks import live_tasks, replicated
from .listfile import _LINE_BREAK, ListFileRequest, ListFileSlice, format_listfile, read_listfile
from .models import DEFAULT_PRIORITY, ProductionRequest, PTag, Slice
from .registration import REGISTER_TASKS
from .states import REQUEST_MOVES


class InvalidTransition(Exception):
    """The request is not in a status the verb moves from; the message says which it is in."""


@dataclass(frozen=True)
class SliceSpec:
    dataset: str  # as typed: a name, 'scope:name' or a container 'name/'
    formats: tuple[str, ...]
    line: int = 0  # the list-file line it came from, for error messages
    formats_line: int = 0  # the list-file line its formats came from


@dataclass(kw_only=True)
class RequestSpec:
    """What a form, an API payload or a list file asks for, before anything is written."""

    group: PhysicsGroup | None
    description: str
    ptag: PTag | None
    slices: list[SliceSpec]
    skim: bool = True
    train: bool = False
    events_per_job: int | None = None
    priority: int = DEFAULT_PRIORITY
    destination: str = ""
    project: str = ""
    ticket: str = ""


class RequestInvalid(ValidationError):
    """Everything wrong with a request spec: `problems` is a list of (line or field, message)."""

    def __init__(self, problems: list[tuple[object, str]]):
        self.problems = problems
        super().__init__([render_problem(where, message) for where, message in problems])


def render_problem(where, message: str) -> str:
    if isinstance(where, int):
        return f"line {where}: {message}" if where else message
    return f"{where}: {message}"


def audit(actor, verb: str, request: ProductionRequest, comment: str = "", **details):
    return audit_record(actor=actor, verb=verb, obj=request, comment=comment, details=details)


def history(request: ProductionRequest):
    """The request's timeline, oldest first."""
    return audit_history(request)


# --- validation -----------------------------------------------------------------------------------------------


def bare_name(typed: str) -> tuple[str, bool]:
    """The catalog name of a typed dataset (scope and '/' taken off), and whether it names a container."""
    typed = typed.strip()
    is_container = typed.endswith("/")
    name = typed.removesuffix("/")
    if ":" in name:
        name = name.split(":", 1)[1]
    return name, is_container


def resolve_datasets(names: list[str]) -> dict[str, Dataset]:
    """Typed names -> catalog datasets (containers are stored with their trailing '/')."""
    wanted = {}
    for typed in names:
        name, is_container = bare_name(typed)
        wanted[typed] = [name + "/", name] if is_container else [name, name + "/"]
    candidates = {n for options in wanted.values() for n in options}
    found = {}
    for start in range(0, len(candidates), 5000):
        chunk = list(candidates)[start : start + 5000]
        found.update({d.name: d for d in Dataset.objects.filter(name__in=chunk).only("id", "name", "is_container")})
    return {typed: next((found[o] for o in options if o in found), None) for typed, options in wanted.items()}


def validate(spec: RequestSpec, *, actor) -> dict[str, Dataset]:
    """Check a spec as a whole; raise RequestInvalid listing every problem. Returns the resolved datasets."""
    problems, datasets = spec_problems(spec, actor=actor)
    if problems:
        raise RequestInvalid(problems)
    return datasets


def spec_problems(spec: RequestSpec, *, actor) -> tuple[list[tuple[object, str]], dict[str, Dataset | None]]:
    """Every problem of a spec, (line or field, message); and its datasets resolved in the catalog."""
    problems: list[tuple[object, str]] = []
    if spec.group is not None and not permissions.can(actor, "create_request", group_id=spec.group.pk):
        problems.append(("group", f"you do not manage {spec.group}: you may request only for your own groups"))
    if spec.ptag is not None:
        problems += _format_problems(spec)
    if spec.group is not None:
        message = permissions.check_priority(actor, spec.group, spec.priority)
        if message:
            problems.append(("priority", message))
    if not spec.slices:
        problems.append(("datasets", "choose at least one input dataset"))
    if len(spec.project) > 64:
        problems.append(("project", "at most 64 characters"))
    if len(spec.destination) > 255:
        problems.append(("destination", "at most 255 characters"))
    datasets = _check_datasets(spec, problems)
    return problems, datasets


def _format_problems(spec: RequestSpec) -> list[tuple[object, str]]:
    """Formats the p-tag does not write: once per formats line (or once for the form's formats field)."""
    problems = {}
    for piece in spec.slices:
        unknown = [f for f in piece.formats if f not in spec.ptag.formats]
        where = piece.formats_line or piece.line or "formats"
        if unknown and where not in problems:
            allowed = ", ".join(spec.ptag.formats)
            problems[where] = f"{', '.join(unknown)} not written by {spec.ptag} (it writes {allowed})"
    return list(problems.items())


def _check_datasets(spec: RequestSpec, problems: list) -> dict[str, Dataset]:
    seen: dict[tuple, int] = {}
    unreadable = set()
    for index, piece in enumerate(spec.slices, start=1):
        where = piece.line or "datasets"
        if not piece.formats:
            problems.append((where, f"{piece.dataset}: no format chosen"))
        try:
            parse_dataset_name(piece.dataset.strip())
        except DatasetNameError as error:
            problems.append((where, f"{piece.dataset!r}: {error}"))
            unreadable.add(piece.dataset)
            continue
        for data_format in piece.formats:
            key = (bare_name(piece.dataset)[0], data_format)
            first = seen.setdefault(key, piece.line or index)
            if first != (piece.line or index):
                problems.append((where, f"{piece.dataset}: {data_format} already asked for (line/row {first})"))
    datasets = resolve_datasets([p.dataset for p in spec.slices])
    for piece in spec.slices:
        if datasets.get(piece.dataset) is None and piece.dataset not in unreadable:
            problems.append((piece.line or "datasets", f"dataset {piece.dataset} is not in the catalog"))
    return datasets


# --- create / edit --------------------------------------------------------------------------------------------


def request_create(*, actor, spec: RequestSpec, comment: str = "created") -> ProductionRequest:
    """A draft request with its slices; nothing is written if anything in `spec` is wrong."""
    if spec.group is None or spec.ptag is None:
        problems = [("group", "choose a group")] if spec.group is None else []
        problems += [("ptag", "choose a p-tag")] if spec.ptag is None else []
        raise RequestInvalid(problems)
    permissions.require(actor, "create_request", group_id=spec.group.pk)
    datasets = validate(spec, actor=actor)
    with transaction.atomic():
        request = ProductionRequest.objects.create(
            group=spec.group,
            requester=actor,
            description=spec.description,
            project=spec.project,
            ticket=spec.ticket,
            priority=spec.priority,
            destination=spec.destination,
        )
        _write_slices(request, spec, datasets)
        audit(actor, "create", request, comment, slices=len(spec.slices))
    return request


def _write_slices(request: ProductionRequest, spec: RequestSpec, datasets: dict[str, Dataset]) -> None:
    Slice.objects.bulk_create(
        [
            Slice(
                request=request,
                position=position,
                dataset=datasets.get(piece.dataset),
                dataset_name=datasets[piece.dataset].name if datasets.get(piece.dataset) else piece.dataset.strip(),
                ptag=spec.ptag,
                formats=list(piece.formats),
                skim=spec.skim,
                train=spec.train,
                events_per_job=spec.events_per_job,
            )
            for position, piece in enumerate(spec.slices, start=1)
        ],
        batch_size=5000,
    )


def request_update(*, request: ProductionRequest, actor, spec: RequestSpec, comment: str = "") -> ProductionRequest:
    """Edit a draft (or a waiting request, which goes back to draft): its fields and its slices, as a whole."""
    permissions.require(actor, "edit", request)
    if spec.group is not None and spec.group.pk != request.group_id:
        permissions.require(actor, "create_request", group_id=spec.group.pk)
    spec.group = spec.group or request.group
    datasets = validate(spec, actor=actor)
    with transaction.atomic():
        old = _move(request, "edit")
        ProductionRequest.objects.filter(pk=request.pk).update(
            group=spec.group,
            description=spec.description,
            project=spec.project,
            ticket=spec.ticket,
            priority=spec.priority,
            destination=spec.destination,
            updated=timezone.now(),
        )
        request.slices.all().delete()
        _write_slices(request, spec, datasets)
        audit(actor, "edit", request, comment, slices=len(spec.slices), was=old)
    request.refresh_from_db()
    return request


# --- status changes -------------------------------------------------------------------------------------------


def _move(request: ProductionRequest, verb: str) -> str:
    """Compare-and-set the request by `verb`; returns the status it left. Call inside a transaction."""
    move = REQUEST_MOVES[verb]
    current = ProductionRequest.objects.select_for_update().filter(pk=request.pk).values_list("status", flat=True)
    status = current.first()
    changed = ProductionRequest.objects.filter(pk=request.pk, status__in=move.sources).update(
        status=move.target, updated=timezone.now()
    )
    if not changed:
        allowed = " or ".join(sorted(move.sources))
        raise InvalidTransition(f"request {request.pk} is {status}: only a {allowed} request can {verb}")
    request.status = move.target
    return status


def request_send(*, request: ProductionRequest, actor, comment: str = "") -> Operation | None:
    """Send a draft for approval (waiting); a group with auto-approve has it approved at once."""
    permissions.require(actor, "send", request)
    with transaction.atomic():
        _move(request, "send")
        audit(actor, "send", request, comment)
        counts = slice_counts(request)
        group = PhysicsGroup.objects.get(pk=request.group_id)
        operation = None
        if group.auto_approve:
            operation = _approve(request, actor=actor, comment="approved automatically: the group has auto-approve")
        # After the registration is queued (on commit too): the work is never behind a mail.
        notifications.mail_after_commit(lambda: notifications.request_sent(request, actor=actor, counts=counts))
    return operation


def request_approve(*, request: ProductionRequest, actor, comment: str = "") -> Operation:
    """Approve a waiting request and queue the registration of its tasks (an Operation, returned at once)."""
    permissions.require(actor, "approve", request)
    with transaction.atomic():
        return _approve(request, actor=actor, comment=comment)


def _approve(request: ProductionRequest, *, actor, comment: str) -> Operation:
    problems = checks.approval_problems(request)
    if problems:
        raise RequestInvalid([(f"slice {position}", message) for position, message in problems])
    _move(request, "approve")
    audit(actor, "approve", request, comment)
    total = Slice.objects.filter(request=request).count()
    return operation_create(action=REGISTER_TASKS, actor=actor, request_id=request.pk, total=total, comment=comment)


def _simple_move(verb: str):
    def service(*, request: ProductionRequest, actor, comment: str = "") -> ProductionRequest:
        permissions.require(actor, verb, request)
        with transaction.atomic():
            _move(request, verb)
            audit(actor, verb, request, comment)
        return request

    service.__name__ = f"request_{verb}"
    service.__doc__ = f"Move a request by '{verb}' (see REQUEST_MOVES), audited."
    return service


request_hold = _simple_move("hold")
request_release = _simple_move("release")
request_cancel = _simple_move("cancel")


def slice_counts(request: ProductionRequest) -> dict:
    """Slices and the tasks they will make (one per format, or one per train), without loading slices."""
    rows = Slice.objects.filter(request=request).values_list("train", "formats")
    slices = tasks = 0
    for train, formats in rows.iterator(chunk_size=5000):
        slices += 1
        tasks += 1 if train else len(formats)
    return {"slices": slices, "tasks": tasks}


# --- list files -----------------------------------------------------------------------------------------------

LISTFILE_FIELDS = {"group": "group", "ptag": "tag", "priority": "priority", "formats": "formats"}


def request_import(*, actor, text: str, comment: str = "imported from a list file") -> ProductionRequest:
    """A draft request from a legacy list file; nothing is written if anything is wrong.

    Every problem comes back at once with its line number: the file's own (syntax) errors, and what the catalog
    says of the lines that read — unknown group, p-tag or dataset, a format the p-tag does not write, an input
    without an available replica, a task that would duplicate a live task (approval would refuse it).
    """

    permissions.require(actor, "import")
    parsed, problems = read_listfile(text)
    lines, formats_at = _key_lines(text)
    group = PhysicsGroup.objects.filter(name=parsed.group).first() if parsed.group else None
    ptag = PTag.objects.filter(name=parsed.ptag).first() if parsed.ptag else None
    if parsed.group and group is None:
        problems.append((lines.get("group", 0), f"unknown group {parsed.group!r}"))
    if parsed.ptag and ptag is None:
        problems.append((lines.get("tag", 0), f"unknown p-tag {parsed.ptag!r}"))
    spec = RequestSpec(
        group=group,
        description=parsed.comment or f"list file of {parsed.group}",
        ptag=ptag,
        slices=[SliceSpec(s.dataset, tuple(s.formats), s.line, formats_at.get(s.line, 0)) for s in parsed.slices],
        skim=parsed.skim,
        train=parsed.train,
        events_per_job=parsed.events_per_job,
        priority=DEFAULT_PRIORITY if parsed.priority is None else parsed.priority,
        project=parsed.project,
    )
    syntax_errors = bool(problems)
    found, datasets = spec_problems(spec, actor=actor)
    for where, message in found:
        if syntax_errors and where == "datasets":
            continue  # no ds line read: the file's own errors already say why
        problems.append((_line_of(where, lines), message))
    problems += _input_problems(spec, datasets)
    if problems:
        raise RequestInvalid(sorted(problems, key=lambda p: p[0]))
    return request_create(actor=actor, spec=spec, comment=comment)


def _input_problems(spec: RequestSpec, datasets: dict[str, Dataset | None]) -> list[tuple[int, str]]:
    """Known inputs that cannot make their tasks: no available replica, or a duplicate of a live task."""

    known = [(piece, datasets[piece.dataset]) for piece in spec.slices if datasets.get(piece.dataset) is not None]
    ids = {dataset.pk for _, dataset in known}
    readable = replicated(ids)
    live = live_tasks(ids, [spec.ptag.pk]) if spec.ptag is not None else {}
    problems = []
    for piece, dataset in known:
        if dataset.pk not in readable:
            problems.append((piece.line, f"dataset {piece.dataset} has no available replica"))
        for data_format in piece.formats:
            if spec.ptag is not None and (hit := live.get((dataset.pk, spec.ptag.pk, data_format))):
                message = f"{piece.dataset} with {spec.ptag} {data_format} duplicates live task {hit[0]} ({hit[1]})"
                problems.append((piece.line, message))
    return problems


def _line_of(where, lines: dict[str, int]) -> int:
    """A form field's problem, told on the line of the file that set it (0: the file as a whole)."""
    return lines.get(LISTFILE_FIELDS.get(where, where), 0) if isinstance(where, str) else where


def _key_lines(text: str) -> tuple[dict[str, int], dict[int, int]]:
    """The line each key is first given on, and for each ds line the 'formats' line in force there,
    so that catalog errors point at the line to fix. Lines are split exactly as the parser splits them."""

    first, formats_at, formats_line = {}, {}, 0
    for number, raw in enumerate(_LINE_BREAK.split(text.removeprefix("\ufeff")), start=1):
        line = raw.strip()
        key, colon, _ = line.partition(":")
        if not colon or line.startswith("#"):
            continue
        key = key.strip().lower()
        first.setdefault(key, number)
        if key == "formats":
            formats_line = number
        elif key == "ds":
            formats_at[number] = formats_line
    return first, formats_at


def request_listfile(request: ProductionRequest) -> str:
    """The request as a legacy list file: importing it again gives the same request."""

    slices = list(request.slices.select_related("ptag").order_by("position"))
    first = slices[0] if slices else None
    return format_listfile(
        ListFileRequest(
            group=request.group.name,
            comment=" ".join(request.description.split()),
            owner=request.requester.username,
            project=request.project,
            ptag=first.ptag.name if first else "p0",
            priority=request.priority,
            events_per_job=first.events_per_job if first else None,
            skim=first.skim if first else True,
            train=first.train if first else False,
            slices=tuple(ListFileSlice(s.dataset_name, tuple(s.formats)) for s in slices),
        )
    )
