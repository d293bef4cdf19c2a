"""STAND-IN until main's tasks/splitting.py lands (same interface); replaced by main's on merge."""

from dataclasses import dataclass, field

MIN_EVENTS, MAX_EVENTS = 1_000, 100_000


@dataclass(frozen=True)
class InputFile:
    lfn: str
    lumiblocks: tuple


@dataclass
class JobSpec:
    lumiblocks: list = field(default_factory=list)

    @property
    def nevents(self) -> int:
        return sum(lb[3] for lb in self.lumiblocks)

    @property
    def files(self) -> list[str]:
        return list(dict.fromkeys(lb[0] for lb in self.lumiblocks))


def auto_events_per_job(*, cpu_seconds_per_event: float = 1.0, target_seconds: float = 7200) -> int:
    return int(min(max(target_seconds / max(cpu_seconds_per_event, 1e-9), MIN_EVENTS), MAX_EVENTS))


def split_by_lumiblock(files, *, events_per_job, cpu_seconds_per_event=1.0, target_seconds=7200):
    limit = events_per_job or auto_events_per_job(
        cpu_seconds_per_event=cpu_seconds_per_event, target_seconds=target_seconds
    )
    jobs, current, n = [], JobSpec(), 0
    for f in files:
        for run, lb, events in f.lumiblocks:
            if current.lumiblocks and n + events > limit:
                jobs.append(current)
                current, n = JobSpec(), 0
            current.lumiblocks.append((f.lfn, run, lb, events))
            n += events
    if current.lumiblocks:
        jobs.append(current)
    return jobs
