"""Dynamic job splitting by lumiblock (pure Python, no Django).

A task's input is a list of files; each file lists the lumiblocks it holds as ``(run, lumiblock, events)``.
``split_by_lumiblock`` packs lumiblocks into jobs greedily, in input order:

* every lumiblock lands in exactly one job and is never cut in two;
* a job holds at most ``events_per_job`` events, unless one lumiblock alone is bigger: it then
  becomes a job of its own (with any empty lumiblocks that follow it);
* lumiblocks with 0 events never open a job: they join the current one, so no job is made of empty
  lumiblocks only, unless the whole input holds no event;
* jobs may span files, and each job is as full as those rules allow (it could not take the
  next lumiblock without passing the limit).

A lumiblock is a ``(run, lumiblock)`` pair: if merged files spread one lumiblock over several files, its
entries in all of them form one unit and land in the same job (in the order they were read).

MC input has no meaningful lumiblocks: ``mc_files`` makes each file one unit ``(0, n, events)``, so
files are packed whole; a file bigger than ``events_per_job`` is a job of its own (cutting a file into
event ranges is not done here).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import NamedTuple

__all__ = ["InputFile", "JobSpec", "auto_events_per_job", "mc_files", "split_by_lumiblock"]

Lumiblock = tuple[int, int, int]  # (run, lumiblock, events)
JobLumiblock = tuple[str, int, int, int]  # (lfn, run, lumiblock, events)


class InputFile(NamedTuple):
    lfn: str
    lumiblocks: Sequence[Lumiblock]


@dataclass(frozen=True, slots=True)
class JobSpec:
    nevents: int
    lumiblocks: list[JobLumiblock]

    @property
    def files(self) -> list[str]:
        """Distinct input file names, in the order the job reads them."""
        return list(dict.fromkeys(lb[0] for lb in self.lumiblocks))


def mc_files(files: Iterable[tuple[str, int]]) -> list[InputFile]:
    """Input for MC tasks: ``(lfn, events)`` pairs become files of one lumiblock ``(0, n, events)`` each
    (n numbers the files, so no two files share a unit), and ``split_by_lumiblock`` packs whole files."""
    return [InputFile(lfn, [(0, n, events)]) for n, (lfn, events) in enumerate(files, start=1)]


def _check_positive(name: str, value: float) -> None:
    # bool is an int subclass; True as a size is always a caller bug.
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def auto_events_per_job(
    *,
    cpu_seconds_per_event: float,
    target_seconds: float = 7200,
    minimum: int = 1000,
    maximum: int = 100_000,
) -> int:
    """Events that fill ``target_seconds`` of CPU, clamped to ``[minimum, maximum]``.

    The clamp keeps jobs from being so short that overheads dominate, or so long that a failure
    throws away hours of work.
    """
    _check_positive("cpu_seconds_per_event", cpu_seconds_per_event)
    _check_positive("target_seconds", target_seconds)
    if minimum > maximum:
        raise ValueError(f"minimum ({minimum}) must not exceed maximum ({maximum})")
    # Clamp before int() so an infinite ratio clamps instead of overflowing.
    return int(max(minimum, min(maximum, target_seconds / cpu_seconds_per_event)))


def _resolve_events_per_job(events_per_job: int | None, cpu_seconds_per_event: float, target_seconds: float) -> int:
    if events_per_job is None:
        return auto_events_per_job(cpu_seconds_per_event=cpu_seconds_per_event, target_seconds=target_seconds)
    if isinstance(events_per_job, bool) or not isinstance(events_per_job, int) or events_per_job <= 0:
        raise ValueError(f"events_per_job must be a positive int or None (automatic), got {events_per_job!r}")
    return events_per_job


def split_by_lumiblock(
    files: Iterable[InputFile | tuple[str, Sequence[Lumiblock]]],
    *,
    events_per_job: int | None,
    cpu_seconds_per_event: float = 1.0,
    target_seconds: float = 7200,
) -> list[JobSpec]:
    """Split ``files`` into jobs of whole lumiblocks, greedily in input order (see module doc).

    ``events_per_job=None`` sizes jobs with ``auto_events_per_job(cpu_seconds_per_event=...,
    target_seconds=...)``; otherwise those two arguments are ignored.
    A file with no lumiblocks contributes nothing and appears in no job.
    """
    limit = _resolve_events_per_job(events_per_job, cpu_seconds_per_event, target_seconds)
    entries, spread = _read_entries(files)
    if spread:
        return _pack(_units_of(entries), limit, grouped=True)
    return _pack(((entry[3], entry) for entry in entries), limit, grouped=False)


def _pack(units, limit: int, *, grouped: bool) -> list[JobSpec]:
    """Greedy packing of (events, entry or entries) units, in order."""
    jobs: list[JobSpec] = []
    append_job = jobs.append
    current: list[JobLumiblock] = []
    total = 0
    for events, unit in units:
        # Close the job when this lumiblock would pass the limit, but never leave a job without
        # events: an empty lumiblock joins the current job even past the limit (after an oversized
        # lumiblock), and an oversized one joins a job holding only empty lumiblocks.
        if total + events > limit and total and events:
            append_job(JobSpec(total, current))
            current = []
            total = 0
        if grouped:
            current += unit
        else:
            current.append(unit)
        total += events
    if current:
        append_job(JobSpec(total, current))
    return jobs


def _read_entries(files) -> tuple[list[JobLumiblock], bool]:
    """All (lfn, run, lumiblock, events) entries in read order, and whether a lumiblock spans files."""
    entries: list[JobLumiblock] = []
    ranges = []  # (first, last) (run, lumiblock) of each file: only files whose ranges overlap can share one
    repeated = False
    for lfn, lumiblocks in files:
        if not lumiblocks:
            continue
        entries.extend([(lfn, run, lumiblock, events) for run, lumiblock, events in lumiblocks])
        ranges.append((min(lumiblocks)[:2], max(lumiblocks)[:2]))
        repeated = repeated or _repeats_a_lumiblock(lumiblocks)
        if min(events for _, _, events in lumiblocks) < 0:
            run, lumiblock, events = next(lb for lb in lumiblocks if lb[2] < 0)
            raise ValueError(f"negative event count {events} in {lfn} run {run} lumiblock {lumiblock}")
    return entries, repeated or (_ranges_overlap(ranges) and _any_lumiblock_twice(entries))


def _ranges_overlap(ranges) -> bool:
    ranges.sort()
    return any(later[0] <= earlier[1] for earlier, later in pairwise(ranges))


def _repeats_a_lumiblock(lumiblocks) -> bool:
    # Distinct lumiblock numbers settle it without building a (run, lumiblock) pair per entry.
    if len({lumiblock for _, lumiblock, _ in lumiblocks}) == len(lumiblocks):
        return False
    return len({(run, lumiblock) for run, lumiblock, _ in lumiblocks}) < len(lumiblocks)


def _any_lumiblock_twice(entries: list[JobLumiblock]) -> bool:
    return len({(run, lumiblock) for _, run, lumiblock, _ in entries}) < len(entries)


def _units_of(entries: list[JobLumiblock]) -> list[tuple[int, list[JobLumiblock]]]:
    """(events, entries) per (run, lumiblock), in order of first appearance: a lumiblock spread over
    several files is one unit, so no job boundary can fall inside it."""
    units: dict[tuple[int, int], list] = {}
    for entry in entries:
        unit = units.setdefault((entry[1], entry[2]), [0, []])
        unit[0] += entry[3]
        unit[1].append(entry)
    return [(events, unit_entries) for events, unit_entries in units.values()]
