"""The legacy group production list file (DEFT's DPD form): parse it into a request, and write one back.

Format: plain text, one ``key:value`` per line (split at the first ':', so ``ds:scope:name`` works). Blank
lines and lines starting with ``#`` are ignored; a ``#`` later in a line is part of the value. Keys:

    group           PHYS-SUSY; a legacy GR_SUSY means PHYS-SUSY                         required
    comment         the request's description                                           optional
    owner           a user name or e-mail address                                       optional
    project         e.g. mc14_8TeV                                                      optional
    tag             the p-tag, e.g. p1872                                               required
    priority        a non-negative integer (the group cap is checked elsewhere)         optional
    events_per_job  a positive integer, or 'auto' (dynamic splitting, the default)      optional
    skim, train     yes / no (our extension; defaults skim:yes, train:no)               optional
    formats         DAOD_SUSY1.DAOD_SUSY2 (or comma-separated): the formats of the ds lines that follow;
                    repeat it to change them
    ds              one input dataset or container per line, at least one

Every problem in the file is reported at once, each with its 1-based line number (0 for the file as a whole),
so that a group manager fixes a file in one go. Pure Python: no Django here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from catalog.naming import DatasetNameError, parse_dataset_name

SCALAR_KEYS = ("group", "comment", "owner", "project", "tag", "priority", "events_per_job", "skim", "train")
KEYS = (*SCALAR_KEYS, "formats", "ds")

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_GROUP = re.compile(r"[A-Za-z0-9]+(?:[_-][A-Za-z0-9]+)*", re.ASCII)
_PROJECT = re.compile(r"[A-Za-z][A-Za-z0-9_]*", re.ASCII)
_PTAG = re.compile(r"p[0-9]+", re.ASCII)
_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)
_FORMAT = re.compile(r"[A-Z0-9]+(?:_[A-Z0-9]+)*", re.ASCII)
_MAX_DIGITS = 9  # bounds int() (and the database column) whatever the file holds
_YES_NO = {"yes": True, "no": False}


@dataclass(frozen=True)
class ListFileSlice:
    dataset: str  # as written, scope and container '/' included
    formats: tuple[str, ...]
    line: int = field(default=0, compare=False)  # where it came from; not part of what was asked


@dataclass(frozen=True, kw_only=True)
class ListFileRequest:
    group: str
    comment: str = ""
    owner: str = ""
    project: str = ""
    ptag: str
    priority: int | None = None
    events_per_job: int | None = None  # None: automatic (dynamic) splitting
    skim: bool = True
    train: bool = False
    slices: tuple[ListFileSlice, ...]


class ListFileError(ValueError):
    """Everything wrong with a list file: ``errors`` is a list of (line number, message), 0 = whole file."""

    def __init__(self, errors: list[tuple[int, str]]):
        self.errors = sorted(errors, key=lambda error: error[0])
        super().__init__("\n".join(_render(line, message) for line, message in self.errors))


def _render(line: int, message: str) -> str:
    return f"line {line}: {message}" if line else message


class _Invalid(Exception):
    """A value that does not fit its key; the message says why."""


def decode_upload(data: bytes) -> str:
    """An uploaded file's text (UTF-8, with or without a byte order mark)."""
    try:
        return data.decode("utf-8-sig")
    except (UnicodeDecodeError, AttributeError):
        raise ListFileError([(0, "file is not UTF-8 text")]) from None


def parse_listfile(text: str) -> ListFileRequest:
    """The request a list file describes; raise ListFileError listing every problem in it."""
    request, errors = read_listfile(text)
    if errors:
        raise ListFileError(errors)
    return request


def read_listfile(text: str) -> tuple[ListFileRequest, list[tuple[int, str]]]:
    """The request a list file describes and every problem in it, (line number, message) in line order.

    With problems, the request holds what the valid lines say (group and ptag '' when missing or invalid; only
    the ds lines that read, with the formats not already asked for), so that the catalog can be asked about
    them too and a file is fixed in one go. Raises ListFileError only for input that is not text at all.
    """
    if not isinstance(text, str):
        raise ListFileError([(0, f"a list file must be text, got {type(text).__name__}: decode it first")])
    reader = _Reader()
    for number, raw in enumerate(_LINE_BREAK.split(text.removeprefix("\ufeff")), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, colon, value = line.partition(":")
        if not colon:
            reader.errors.append((number, f"expected 'key:value', got {_show(line)}"))
            continue
        reader.take(number, key.strip().lower(), value.strip())
    return reader.finish()


class _Reader:
    """Reads a file line by line, collecting values and errors; ``finish`` checks the whole."""

    def __init__(self):
        self.errors: list[tuple[int, str]] = []
        self.values: dict[str, object] = {}
        self.seen: dict[str, int] = {}  # scalar key -> line it was first given on
        self.formats: tuple[str, ...] | None = None  # in force for the next ds lines; None if invalid
        self.formats_line = 0  # 0: no formats line yet
        self.formats_used = True
        self.ds_lines = 0
        self.said_no_formats = False
        self.slices: list[ListFileSlice] = []
        self.requested: dict[tuple[str, bool, str], int] = {}  # (dataset, container, format) -> line

    def take(self, line: int, key: str, value: str) -> None:
        if key == "ds":
            self._take_ds(line, value)
        elif key == "formats":
            self._take_formats(line, value)
        elif key in SCALAR_KEYS:
            self._take_scalar(line, key, value)
        else:
            self.errors.append((line, f"unknown key {_show(key)}: expected one of {', '.join(KEYS)}"))

    def _take_scalar(self, line: int, key: str, value: str) -> None:
        if key in self.seen:
            self.errors.append((line, f"duplicate '{key}': already given on line {self.seen[key]}"))
            return
        self.seen[key] = line
        try:
            self.values[key] = _SCALAR_PARSERS[key](value)
        except _Invalid as invalid:
            self.errors.append((line, str(invalid)))

    def _take_formats(self, line: int, value: str) -> None:
        self._check_formats_used(replaced_on=line)
        self.formats_line, self.formats_used = line, False
        try:
            self.formats = _parse_formats(value)
        except _Invalid as invalid:
            self.formats = None  # its ds lines are still checked, but yield no slices
            self.errors.append((line, str(invalid)))

    def _check_formats_used(self, replaced_on: int = 0) -> None:
        if self.formats_line and not self.formats_used:
            where = f" before it is replaced on line {replaced_on}" if replaced_on else ""
            self.errors.append((self.formats_line, f"'formats' is not followed by any 'ds' line{where}"))

    def _take_ds(self, line: int, value: str) -> None:
        self.ds_lines += 1
        self.formats_used = True
        try:
            dataset = parse_dataset_name(value)
        except DatasetNameError as invalid:
            self.errors.append((line, f"ds {_show(value)}: {invalid}"))
            return
        if not self.formats_line:
            if not self.said_no_formats:  # once: every ds above the first formats line has the same cause
                self.said_no_formats = True
                self.errors.append((line, "'ds' before any 'formats' line: put e.g. formats:DAOD_SUSY1 above"))
            return
        if self.formats is None:
            return
        new = []
        for data_format in self.formats:
            key = (dataset.name, dataset.is_container, data_format)
            first = self.requested.setdefault(key, line)
            if first != line:
                self.errors.append((line, f"ds {_show(value)}: {data_format} already requested on line {first}"))
            else:
                new.append(data_format)
        if new:  # a file without errors has every format here
            self.slices.append(ListFileSlice(value, tuple(new), line))

    def finish(self) -> tuple[ListFileRequest, list[tuple[int, str]]]:
        self._check_formats_used()
        for key, example in (("group", "group:PHYS-SUSY"), ("tag", "tag:p1872")):
            if key not in self.seen:
                self.errors.append((0, f"no '{key}' line: expected e.g. {example}"))
        if not self.ds_lines:
            self.errors.append((0, "no 'ds' line: the file names no input dataset"))
        values = {"group": "", **{key: value for key, value in self.values.items() if key != "tag"}}
        request = ListFileRequest(**values, ptag=self.values.get("tag", ""), slices=tuple(self.slices))
        return request, sorted(self.errors, key=lambda error: error[0])


def _show(value: str, limit: int = 80) -> str:
    """A value quoted for a message: shortened, and with control characters visible."""
    return repr(value if len(value) <= limit else value[: limit - 3] + "...")


def _parse_group(value: str) -> str:
    group = "PHYS-" + value[3:] if value.startswith("GR_") else value
    if not _GROUP.fullmatch(group):
        raise _Invalid(f"group {_show(value)} must be letters and digits joined by '-' or '_' (PHYS-SUSY)")
    return group


def _parse_comment(value: str) -> str:
    return value


def _parse_owner(value: str) -> str:
    if any(char.isspace() for char in value):
        raise _Invalid(f"owner {_show(value)} must be one user name or e-mail address, without spaces")
    return value


def _parse_project(value: str) -> str:
    if value and not _PROJECT.fullmatch(value):
        raise _Invalid(f"project {_show(value)} must be a project name such as mc14_8TeV")
    return value


def _parse_tag(value: str) -> str:
    if not _PTAG.fullmatch(value):
        raise _Invalid(f"tag {_show(value)} is not a p-tag: expected 'p' and digits, e.g. p1872")
    return value


def _parse_priority(value: str) -> int:
    return _parse_integer("priority", value, minimum=0)


def _parse_events_per_job(value: str) -> int | None:
    if value.lower() == "auto":
        return None
    if not _INTEGER.fullmatch(value):
        raise _Invalid(f"events_per_job {_show(value)} must be a positive integer or 'auto'")
    return _parse_integer("events_per_job", value, minimum=1)


def _parse_integer(key: str, value: str, *, minimum: int) -> int:
    if not _INTEGER.fullmatch(value):
        raise _Invalid(f"{key} {_show(value)} is not an integer")
    if len(value.lstrip("-0")) > _MAX_DIGITS:
        raise _Invalid(f"{key} {_show(value)} is too large (at most {_MAX_DIGITS} digits)")
    number = int(value)
    if number < minimum:
        raise _Invalid(f"{key} {number} must be at least {minimum}")
    return number


def _parse_yes_no(key: str):
    def parse(value: str) -> bool:
        if value.lower() not in _YES_NO:
            raise _Invalid(f"{key} {_show(value)} must be 'yes' or 'no'")
        return _YES_NO[value.lower()]

    return parse


def _parse_formats(value: str) -> tuple[str, ...]:
    if not value:
        raise _Invalid("'formats' is empty: expected e.g. formats:DAOD_SUSY1.DAOD_SUSY2")
    formats = tuple(item.strip().upper() for item in re.split(r"[.,]", value))
    for data_format in formats:
        if not data_format:
            raise _Invalid(f"formats {_show(value)} has an empty item between separators")
        if not _FORMAT.fullmatch(data_format):
            raise _Invalid(f"format {_show(data_format)} must be letters, digits and '_', e.g. DAOD_SUSY1")
    repeated = sorted({f for f in formats if formats.count(f) > 1})
    if repeated:
        raise _Invalid(f"formats {_show(value)} name {', '.join(repeated)} more than once")
    return formats


_SCALAR_PARSERS = {
    "group": _parse_group,
    "comment": _parse_comment,
    "owner": _parse_owner,
    "project": _parse_project,
    "tag": _parse_tag,
    "priority": _parse_priority,
    "events_per_job": _parse_events_per_job,
    "skim": _parse_yes_no("skim"),
    "train": _parse_yes_no("train"),
}


def format_listfile(request: ListFileRequest) -> str:
    """The list file for a request: ``parse_listfile(format_listfile(r)) == r`` (line numbers aside).

    ``formats`` is written again only where it changes between slices. Raises ValueError for a value that a
    line cannot hold (a line break in the comment, say).
    """
    lines = ["# DEFT group production list file", f"group:{request.group}"]
    lines += [f"{key}:{value}" for key, value in _optional_texts(request) if value]
    lines.append(f"tag:{request.ptag}")
    if request.priority is not None:
        lines.append(f"priority:{request.priority}")
    lines.append(f"events_per_job:{'auto' if request.events_per_job is None else request.events_per_job}")
    lines.append(f"skim:{'yes' if request.skim else 'no'}")
    lines.append(f"train:{'yes' if request.train else 'no'}")
    formats = None
    for piece in request.slices:
        if piece.formats != formats:
            formats = piece.formats
            lines.append("formats:" + ".".join(formats))
        lines.append(f"ds:{piece.dataset}")
    for line in lines:
        if _LINE_BREAK.search(line):
            raise ValueError(f"cannot write {line[:40]!r}... on one line of a list file")
    return "\n".join(lines) + "\n"


def _optional_texts(request: ListFileRequest) -> list[tuple[str, str]]:
    return [("comment", request.comment), ("owner", request.owner), ("project", request.project)]
