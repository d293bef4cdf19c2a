"""The request's status words and transition table: which verb moves a request from which statuses to which."""

from django.db import models

from deft.states import Move, transitions_of


class RequestStatus(models.TextChoices):
    DRAFT = "draft"
    WAITING = "waiting"
    APPROVED = "approved"
    WORKING = "working"
    DONE = "done"
    FINISHED = "finished"
    HOLD = "hold"
    CANCELLED = "cancelled"


S = RequestStatus

REQUEST_MOVES = {
    "send": Move(sources=frozenset({S.DRAFT}), target=S.WAITING),
    "edit": Move(sources=frozenset({S.DRAFT, S.WAITING}), target=S.DRAFT),
    "approve": Move(sources=frozenset({S.WAITING}), target=S.APPROVED),
    "start": Move(sources=frozenset({S.APPROVED}), target=S.WORKING),  # the worker registered its tasks
    "complete": Move(sources=frozenset({S.WORKING}), target=S.DONE),  # every task done
    "close": Move(sources=frozenset({S.WORKING}), target=S.FINISHED),  # all tasks ended, some not done
    "reopen": Move(sources=frozenset({S.DONE, S.FINISHED}), target=S.WORKING),  # a task was retried
    "hold": Move(sources=frozenset({S.WAITING, S.APPROVED}), target=S.HOLD),
    "release": Move(sources=frozenset({S.HOLD}), target=S.WAITING),
    "cancel": Move(sources=frozenset({S.DRAFT, S.WAITING, S.APPROVED, S.HOLD}), target=S.CANCELLED),
}
REQUEST_FINAL = frozenset({S.DONE, S.FINISHED, S.CANCELLED})
REQUEST_TRANSITIONS = transitions_of(REQUEST_MOVES)
