"""Status words and the allowed transitions of tasks, jobs and operations: one table per model.

A transition is named by the verb that causes it (a `Move`); services apply it as a compare-and-set:
`filter(pk__in=ids, status__in=move.sources).update(status=move.target)`.
"""

from django.db import models

from deft.states import Move, can_move, transitions_of  # noqa: F401 - the tables below are built with them


class TaskStatus(models.TextChoices):
    REGISTERED = "registered"  # created, not yet split
    DEFINED = "defined"  # jobs generated
    RUNNING = "running"
    DONE = "done"  # every event processed
    FINISHED = "finished"  # partly processed
    FAILED = "failed"  # nothing succeeded
    BROKEN = "broken"  # cannot run: wrong parameters, missing input, known-bad software
    EXHAUSTED = "exhausted"  # given up after persistent failures; waits for a person
    PAUSED = "paused"
    TORETRY = "toretry"
    TOABORT = "toabort"
    ABORTED = "aborted"
    OBSOLETE = "obsolete"  # output no longer wanted (only from done/finished)


T = TaskStatus
TASK_FINAL = frozenset({T.DONE, T.FINISHED, T.FAILED, T.BROKEN, T.ABORTED, T.OBSOLETE})
TASK_ACTIVE = frozenset(set(T) - TASK_FINAL)
TASK_ABORTABLE = TASK_ACTIVE - {T.TOABORT}
TASK_RETRYABLE = frozenset({T.FINISHED, T.FAILED, T.EXHAUSTED})
TASK_OBSOLETABLE = frozenset({T.DONE, T.FINISHED})
TASK_RUNNABLE = frozenset({T.REGISTERED, T.DEFINED, T.RUNNING, T.TORETRY})  # workers make progress on these
TASK_STATUS_GROUPS = {
    "active": TASK_ACTIVE,
    "final": TASK_FINAL,
    "abortable": TASK_ABORTABLE,
    "retryable": TASK_RETRYABLE,
    "good": frozenset({T.DONE, T.FINISHED}),
    "bad": frozenset({T.FAILED, T.BROKEN, T.ABORTED, T.TOABORT, T.EXHAUSTED}),
}

TASK_MOVES = {
    # the system's own moves
    "define": Move(sources=frozenset({T.REGISTERED}), target=T.DEFINED),
    "start": Move(sources=frozenset({T.DEFINED, T.TORETRY}), target=T.RUNNING),
    "complete": Move(sources=frozenset({T.DEFINED, T.RUNNING}), target=T.DONE),
    "end_partly": Move(sources=frozenset({T.DEFINED, T.RUNNING}), target=T.FINISHED),
    "fail": Move(sources=frozenset({T.DEFINED, T.RUNNING}), target=T.FAILED),
    "break": Move(sources=frozenset({T.REGISTERED, T.DEFINED, T.RUNNING}), target=T.BROKEN),
    "exhaust": Move(sources=frozenset({T.RUNNING}), target=T.EXHAUSTED),
    "aborted": Move(sources=frozenset({T.TOABORT}), target=T.ABORTED),  # no job is active any more
    # what people ask for
    "abort": Move(sources=TASK_ABORTABLE, target=T.TOABORT),
    "retry": Move(sources=TASK_RETRYABLE, target=T.TORETRY),
    "obsolete": Move(sources=TASK_OBSOLETABLE, target=T.OBSOLETE),
    "pause": Move(sources=frozenset({T.REGISTERED, T.DEFINED, T.RUNNING, T.TORETRY}), target=T.PAUSED),
    "resume": Move(sources=frozenset({T.PAUSED}), target=T.RUNNING),
    "finish": Move(sources=frozenset({T.REGISTERED, T.DEFINED, T.RUNNING, T.PAUSED, T.EXHAUSTED}), target=T.FINISHED),
}
TASK_TRANSITIONS = transitions_of(TASK_MOVES)


class JobStatus(models.TextChoices):
    DEFINED = "defined"
    ASSIGNED = "assigned"  # brokered to a site
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"


J = JobStatus
JOB_ACTIVE = frozenset({J.DEFINED, J.ASSIGNED, J.RUNNING})
JOB_FINAL = frozenset({J.FINISHED, J.FAILED, J.CANCELLED})
# A job's status never goes back: a retry is a new job with attempt + 1.
JOB_MOVES = {
    "assign": Move(sources=frozenset({J.DEFINED}), target=J.ASSIGNED),
    "start": Move(sources=frozenset({J.ASSIGNED}), target=J.RUNNING),
    "finish": Move(sources=frozenset({J.RUNNING}), target=J.FINISHED),
    "fail": Move(sources=frozenset({J.ASSIGNED, J.RUNNING}), target=J.FAILED),
    "cancel": Move(sources=JOB_ACTIVE, target=J.CANCELLED),
}
JOB_TRANSITIONS = transitions_of(JOB_MOVES)


class OperationStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


O = OperationStatus  # noqa: E741
OPERATION_MOVES = {
    "start": Move(sources=frozenset({O.QUEUED, O.RUNNING}), target=O.RUNNING),  # RUNNING: a redelivery resumes
    "finish": Move(sources=frozenset({O.RUNNING}), target=O.DONE),
    "fail": Move(sources=frozenset({O.QUEUED, O.RUNNING}), target=O.FAILED),
}
OPERATION_TRANSITIONS = transitions_of(OPERATION_MOVES)
OPERATION_FINAL = frozenset({O.DONE, O.FAILED})
