"""Planning merge jobs for unmerged derivation outputs (pure Python, no Django).

``plan_merges`` groups the unmerged outputs of a task into merge jobs of about 4 GB:

* per format (plans come out sorted by format, then in input order);
* never an output whose deriv job failed, nor one that wrote nothing (0 bytes or 0 events):
  merging those is how a job ended up "finished" while its merge had failed;
* groups fill in input order and close when the next output would pass ``max_bytes``,
  ``max_files`` or ``max_events``, or when a limit is reached exactly; one output bigger than a
  limit is a group of its own;
* the open remainder of a format is planned only when ``final=True`` (no deriv job of the task can
  still add to it); otherwise it waits for more outputs. Call again with every still-unmerged output.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["MergePlan", "UnmergedOutput", "plan_merges"]


class OutputLike(Protocol):
    """What plan_merges reads: a model instance or an UnmergedOutput both fit (read-only)."""

    @property
    def id(self) -> Hashable: ...
    @property
    def format(self) -> str: ...
    @property
    def bytes(self) -> int: ...
    @property
    def events(self) -> int: ...
    @property
    def job_ok(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class UnmergedOutput:
    id: Hashable
    format: str
    bytes: int
    events: int
    job_ok: bool = True


@dataclass(frozen=True, slots=True)
class MergePlan:
    format: str
    output_ids: tuple[Any, ...]
    bytes: int
    events: int


def _check_limit(name: str, value: Any, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        allowed = "a positive int or None" if optional else "a positive int"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


def _eligible_by_format(outputs: Iterable[OutputLike]) -> dict[str, list[OutputLike]]:
    by_format: dict[str, list[OutputLike]] = {}
    for out in outputs:
        if out.bytes < 0 or out.events < 0:
            raise ValueError(f"output {out.id!r} has negative size ({out.bytes} B, {out.events} events)")
        if out.job_ok and out.bytes > 0 and out.events > 0:
            by_format.setdefault(out.format, []).append(out)
    return by_format


def _plan_format(
    fmt: str, outputs: list[OutputLike], max_bytes: int, max_files: int, max_events: float, final: bool
) -> list[MergePlan]:
    plans: list[MergePlan] = []
    ids: list[Any] = []
    nbytes = nevents = 0
    for out in outputs:
        size, events = out.bytes, out.events
        # Full groups were closed right after the add below, so only an overflow can close one here.
        if ids and (nbytes + size > max_bytes or nevents + events > max_events):
            plans.append(MergePlan(fmt, tuple(ids), nbytes, nevents))
            ids, nbytes, nevents = [], 0, 0
        ids.append(out.id)
        nbytes += size
        nevents += events
        # A limit reached exactly (or passed by a lone oversized output): no eligible output can
        # join (all have bytes > 0 and events > 0), so close now rather than wait.
        if nbytes >= max_bytes or nevents >= max_events or len(ids) >= max_files:
            plans.append(MergePlan(fmt, tuple(ids), nbytes, nevents))
            ids, nbytes, nevents = [], 0, 0
    if ids and final:
        plans.append(MergePlan(fmt, tuple(ids), nbytes, nevents))
    return plans


def plan_merges(
    outputs: Iterable[OutputLike],
    *,
    max_bytes: int = 4_000_000_000,
    max_files: int = 50,
    max_events: int | None = None,
    final: bool = False,
) -> list[MergePlan]:
    """Group eligible unmerged outputs into merge plans (see module doc). ``max_events=None``: no limit."""
    _check_limit("max_bytes", max_bytes)
    _check_limit("max_files", max_files)
    _check_limit("max_events", max_events, optional=True)
    event_limit = math.inf if max_events is None else max_events
    by_format = _eligible_by_format(outputs)
    plans: list[MergePlan] = []
    for fmt in sorted(by_format):
        plans.extend(_plan_format(fmt, by_format[fmt], max_bytes, max_files, event_limit, final))
    return plans
