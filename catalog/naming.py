"""ATLAS dataset names: parse them, and derive the names of a derivation's outputs and tasks.

A dataset name is ``project.number.physics_short.prod_step.data_type.tags``, e.g.
``mc14_8TeV.117050.PowhegPythia_P2011C_ttbar.merge.AOD.e1727_s1933_s1911_r5591_r5625``; a data period container
has its period where the number goes (``data12_8TeV.periodB.physics_Muons.PhysCont.AOD.repro14_v01/``).
Optionally written with a Rucio scope (``mc14_8TeV:mc14_8TeV.117050...``), with a trailing ``/`` for a
container, and with a task's ``_tidNNNNNNNN_00`` suffix on the tag chain.

Our own convention (not ATLAS's): the *unmerged* outputs of a task live in a dataset named like the merged
one plus ``.um`` (``<merged>.um``), so that they are never mistaken for, nor counted with, merged outputs.
``parse_dataset_name`` accepts that seventh part and sets ``is_unmerged``.

Pure Python: no Django here, so the parser is usable (and testable) anywhere.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

MAX_NAME_LENGTH = 255  # Rucio's limit for a DID name; task names share it
DERIVATION_STEP = "deriv"
PERIOD_PREFIX = "period"
UNMERGED_SUFFIX = "um"

_PART = re.compile(r"[A-Za-z0-9_-]+", re.ASCII)
_PROJECT = re.compile(r"[A-Za-z][A-Za-z0-9_]*", re.ASCII)
_TAGS = re.compile(r"[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*", re.ASCII)
_SCOPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*", re.ASCII)
_TID = re.compile(r"_tid(\d+)_(\d+)$", re.ASCII)
_PTAG = re.compile(r"p\d+", re.ASCII)
_PERIOD = re.compile(r"period[A-Za-z0-9]+", re.ASCII)  # periodB, periodB1, periodAllYear
# The whole bare name in one pass: the same rules as the part checks below, which run only to say what is wrong.
_NAME = re.compile(
    r"(?P<project>[A-Za-z][A-Za-z0-9_]*)\.(?P<number>[0-9]+|period[A-Za-z0-9]+)\.(?P<physics_short>[A-Za-z0-9_-]+)"
    r"\.(?P<prod_step>[A-Za-z0-9_-]+)\.(?P<data_type>[A-Za-z0-9_-]+)\.(?P<tags>[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*)"
    r"(?P<unmerged>\.um)?",
    re.ASCII,
)
_PART_NAMES = ("project", "number", "physics_short", "prod_step", "data_type", "tags")
_READABLE = {
    "physics_short": "physics short name",
    "prod_step": "production step",
    "data_type": "data type",
    "tags": "tag chain",
}


class DatasetNameError(ValueError):
    """A string that is not a dataset name (or cannot become one); the message says what is wrong."""


@dataclass(frozen=True)
class DatasetName:
    project: str
    number: int | None  # None for a period container
    number_text: str  # as written: data run numbers are zero-padded (00200842) and must stay so; or periodB
    physics_short: str
    prod_step: str
    data_type: str
    tags: str  # the whole tag chain, including a _tid suffix if there is one
    is_container: bool = False
    scope: str | None = None
    is_unmerged: bool = False

    @property
    def name(self) -> str:
        """The bare name: no scope, no trailing '/'."""
        parts = (self.project, self.number_text, self.physics_short, self.prod_step, self.data_type)
        return ".".join(parts) + f".{self.tags}" + (f".{UNMERGED_SUFFIX}" if self.is_unmerged else "")

    @property
    def period(self) -> str | None:
        """The data period of a period container ('B' of periodB), None for a numbered dataset."""
        return self.number_text.removeprefix(PERIOD_PREFIX) if self.number is None else None

    @property
    def tags_without_tid(self) -> str:
        return _TID.sub("", self.tags)

    @property
    def tag_list(self) -> tuple[str, ...]:
        """The tags of the chain without the task id, e.g. ('e1727', 's1933', 'r5591')."""
        return tuple(self.tags_without_tid.split("_"))

    @property
    def task_id(self) -> int | None:
        match = _TID.search(self.tags)
        return int(match.group(1)) if match else None

    def __str__(self) -> str:
        """The name as it was written: parse_dataset_name(str(d)) == d."""
        prefix = f"{self.scope}:" if self.scope is not None else ""
        return prefix + self.name + ("/" if self.is_container else "")


def parse_dataset_name(name: str) -> DatasetName:
    """Split a dataset name into its parts; raise DatasetNameError saying what is wrong."""
    if not isinstance(name, str):
        raise DatasetNameError(f"dataset name must be text, got {type(name).__name__}")
    return _parse(name)


@functools.lru_cache(maxsize=8192)  # a request names each input several times (preview, task name, outputs)
def _parse(name: str) -> DatasetName:
    scope, bare, is_container = _split_decorations(name)
    if len(bare) > MAX_NAME_LENGTH:
        raise DatasetNameError(f"dataset name has {len(bare)} characters, at most {MAX_NAME_LENGTH} allowed")
    match = _NAME.fullmatch(bare)
    if match is None:
        _explain(bare)
        raise DatasetNameError(f"'{bare}' is not a dataset name")  # _explain names the part; this is a safety net
    number_text = match["number"]
    return DatasetName(
        project=match["project"],
        number=None if number_text.startswith(PERIOD_PREFIX) else int(number_text),
        number_text=number_text,
        physics_short=match["physics_short"],
        prod_step=match["prod_step"],
        data_type=match["data_type"],
        tags=match["tags"],
        is_container=is_container,
        scope=scope,
        is_unmerged=match["unmerged"] is not None,
    )


def _explain(bare: str) -> None:
    """Raise DatasetNameError naming the first part of `bare` that is wrong."""
    parts = bare.split(".")
    if len(parts) == 7 and parts[-1] == UNMERGED_SUFFIX:
        parts.pop()
    if len(parts) != 6:
        raise DatasetNameError(
            "expected 6 dot-separated parts project.number.physics_short.prod_step.data_type.tags"
            f" (plus '.{UNMERGED_SUFFIX}' for unmerged outputs), got {len(parts)}"
        )
    for label, part in zip(_PART_NAMES, parts, strict=True):
        _check_part(label, part)


def _split_decorations(name: str) -> tuple[str | None, str, bool]:
    """Take off the optional 'scope:' prefix and container '/' suffix."""
    if not name:
        raise DatasetNameError("dataset name is empty")
    if name != name.strip():
        raise DatasetNameError("dataset name has leading or trailing spaces")
    is_container = name.endswith("/")
    name = name.removesuffix("/")
    scope = None
    if ":" in name:
        scope, name = name.split(":", 1)
        if not _SCOPE.fullmatch(scope):
            raise DatasetNameError(
                f"scope '{scope}' must be letters, digits, '.', '_' and '-' (e.g. mc14_8TeV:mc14_8TeV...)"
            )
    return scope, name, is_container


def _check_part(label: str, part: str) -> None:
    readable = _READABLE.get(label, label)
    if not part:
        raise DatasetNameError(f"dataset {readable} is empty")
    if label == "number":
        if not (part.isascii() and part.isdigit()) and not _PERIOD.fullmatch(part):
            raise DatasetNameError(f"dataset number '{part}' is not a number (nor a data period such as periodB)")
    elif label == "project":
        if not _PROJECT.fullmatch(part):
            raise DatasetNameError(f"project '{part}' must be a letter, then letters, digits and '_' (e.g. mc14_8TeV)")
    elif label == "tags":
        if not _TAGS.fullmatch(part):
            raise DatasetNameError(
                f"tag chain '{part}' must be tags of letters and digits joined by '_' (e.g. e1727_r5591)"
            )
    elif not _PART.fullmatch(part):
        raise DatasetNameError(f"dataset {readable} '{part}' may hold only letters, digits, '_' and '-'")


def output_dataset_name(input_name: str, *, ptag: str, data_format: str, prod_step: str | None = None) -> str:
    """The name of the dataset a derivation writes: ``...<prod_step>.<data_format>.<input tags>_<ptag>``.

    The input's task id suffix is dropped before the p-tag is appended. The result is a bare name: no scope
    (the output's scope is its project) and no container '/'. The production step defaults to 'deriv', the
    step name ATLAS adopted for derivations (the input's step, e.g. 'merge', is not kept) — except for a period
    container, whose derivation is named like ATLAS's derived period containers: period and step stay
    (``data12_8TeV.periodB.physics_Muons.PhysCont.DAOD_SUSY1.repro14_v01_p1872``).
    """
    source = parse_dataset_name(input_name)
    _check_ptag(ptag)
    _check_part("data_type", data_format)
    step = _derived_step(source) if prod_step is None else prod_step
    _check_part("prod_step", step)
    parts = (source.project, source.number_text, source.physics_short, step, data_format)
    # Every part is checked and the tags stay a tag chain, so only the length can make this no name.
    return _checked_length(".".join(parts) + f".{source.tags_without_tid}_{ptag}", "output dataset name")


def merged_dataset_name(output_name: str, *, task_id: int) -> str:
    """The dataset a task fills with merged outputs: ``<output>_tid<task_id:08d>_00`` (the ATLAS form)."""
    output = parse_dataset_name(output_name)
    if output.is_container or output.is_unmerged or output.task_id is not None:
        raise DatasetNameError(f"'{output_name}' is not an output name without task id (and not a container)")
    if isinstance(task_id, bool) or not isinstance(task_id, int) or task_id <= 0:
        raise DatasetNameError(f"task id must be a positive integer, got {task_id!r}")
    prefix = f"{output.scope}:" if output.scope is not None else ""
    return prefix + _checked_length(f"{output.name}_tid{task_id:08d}_00", "merged dataset name")


def unmerged_dataset_name(output_name: str, *, task_id: int) -> str:
    """Where a task's jobs write before merging: the merged name plus ``.um`` (our convention, see above)."""
    merged = parse_dataset_name(merged_dataset_name(output_name, task_id=task_id))
    return str(parse_dataset_name(str(dataclasses.replace(merged, is_unmerged=True))))


def task_name(input_name: str, *, ptag: str, formats: Sequence[str]) -> str:
    """A derivation task's name: ``project.number.physics_short.deriv.<formats>.<input tags>_<ptag>``.

    One format gives ``DAOD_SUSY1``; a train of several joins them with '_' and drops the prefix they
    share with the first, so DAOD_SUSY1 + DAOD_SUSY2 gives ``DAOD_SUSY1_SUSY2``. The step is the outputs'
    (a period container's stays, see output_dataset_name).
    """
    return task_names(input_name, ptag=ptag, formats=formats)[0]


def task_names(input_name: str, *, ptag: str, formats: Sequence[str]) -> tuple[str, list[str]]:
    """A task's name and its output dataset name per format (as output_dataset_name), checked once for all."""
    source = parse_dataset_name(input_name)
    _check_ptag(ptag)
    if isinstance(formats, str) or not formats:
        raise DatasetNameError("a task needs a non-empty list of formats")
    for data_format in formats:
        _check_part("data_type", data_format)
    if len(set(formats)) != len(formats):
        raise DatasetNameError(f"formats {list(formats)} repeat a format")
    prefix = formats[0].split("_", 1)[0] + "_" if "_" in formats[0] else None
    joined = "_".join([formats[0], *(_drop_prefix(f, prefix) for f in formats[1:])])
    head = f"{source.project}.{source.number_text}.{source.physics_short}.{_derived_step(source)}."
    tail = f".{source.tags_without_tid}_{ptag}"
    outputs = [_checked_length(head + f + tail, "output dataset name") for f in formats]
    return _checked_length(head + joined + tail, "task name"), outputs


def _derived_step(source: DatasetName) -> str:
    return source.prod_step if source.period is not None else DERIVATION_STEP


def _checked_length(name: str, what: str) -> str:
    if len(name) > MAX_NAME_LENGTH:
        raise DatasetNameError(f"{what} is {len(name)} characters long, at most {MAX_NAME_LENGTH} allowed")
    return name


def _drop_prefix(data_format: str, prefix: str | None) -> str:
    if prefix and data_format.startswith(prefix) and len(data_format) > len(prefix):
        return data_format[len(prefix) :]
    return data_format


def _check_ptag(ptag: str) -> None:
    if not isinstance(ptag, str) or not _PTAG.fullmatch(ptag):
        raise DatasetNameError(f"p-tag {ptag!r} must be 'p' followed by digits, e.g. p1872")
