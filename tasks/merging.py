"""STAND-IN until main's tasks/merging.py lands (same interface); replaced by main's on merge."""

from collections import defaultdict
from dataclasses import dataclass


@dataclass(frozen=True)
class MergePlan:
    format: str
    output_ids: tuple
    bytes: int
    events: int


def plan_merges(outputs, *, max_bytes=4_000_000_000, max_files=50, max_events=None, final=False):
    by_format = defaultdict(list)
    for o in outputs:
        if o.job_ok and o.events > 0 and o.bytes > 0:
            by_format[o.format].append(o)
    plans = []
    for fmt, group in sorted(by_format.items()):
        current = []
        for o in sorted(group, key=lambda o: o.id):
            size = sum(x.bytes for x in current) + o.bytes
            events = sum(x.events for x in current) + o.events
            if current and (size > max_bytes or (max_events and events > max_events)):
                plans.append(_plan(fmt, current))
                current = []
            current.append(o)
            if len(current) >= max_files or sum(x.bytes for x in current) >= max_bytes:
                plans.append(_plan(fmt, current))
                current = []
        if current and final:
            plans.append(_plan(fmt, current))
    return plans


def _plan(fmt, outputs):
    return MergePlan(fmt, tuple(o.id for o in outputs), sum(o.bytes for o in outputs), sum(o.events for o in outputs))
