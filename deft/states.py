"""Transitions named by the verb that causes them (a `Move`), shared by every model's table (`<app>/states.py`)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Move:
    sources: frozenset
    target: str


def transitions_of(moves: dict[str, Move]) -> dict[str, frozenset]:
    """status -> the statuses it may move to, derived from the verbs so the two never disagree."""
    table: dict[str, set] = {}
    for move in moves.values():
        for source in move.sources:
            table.setdefault(source, set()).add(move.target)
    return {status: frozenset(targets) for status, targets in table.items()}


def can_move(table: dict[str, frozenset], source: str, target: str) -> bool:
    return target in table.get(source, frozenset())
