"""Bulk actions on tasks: production managers steer thousands of tasks at once.

`operation_start` validates the whole input (action, selection, parameters, permissions), stores the selected
task ids in an `Operation` with one query and queues it; `operation_run` (the worker) applies the action in
primary-key batches, one transaction each: compare-and-set moves through `tasks.engine.moves`, one bulk audit
insert, and the operation's counters and cursor in the same transaction, so a killed worker resumes on
redelivery with no task changed twice.
"""

import bisect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, F
from django.http import QueryDict
from django.utils import timezone

from deft import notifications, permissions
from deft.audit import audit_by_operation, audit_record_many
from deft.models import PhysicsGroup
from tasks.engine.executors import get_executor
from tasks.engine.moves import (
    jobs_cancel_of_tasks,
    jobs_running_of_tasks,
    jobs_set_of_tasks,
    tasks_move,
    tasks_move_counting,
    tasks_move_counting_rows,
)
from tasks.filtersets import TaskFilterSet
from tasks.models import Operation, ProductionTask
from tasks.operations.runner import (
    BatchResult,
    OperationKind,
    operation_create,
    operation_kind_register,
    operation_note,
    operation_run,  # noqa: F401 - the runner, named where the actions are
)
from tasks.states import TASK_ACTIVE, TASK_FINAL, TASK_MOVES, TASK_RETRYABLE, JobStatus, TaskStatus

log = logging.getLogger(__name__)

NOT_RUNNING_JOBS = (JobStatus.DEFINED, JobStatus.ASSIGNED)
MAX_PRIORITY = 10_000
MAX_ATTEMPTS_INCREASE = 1000
MAX_COMMENT = 2000
MAX_EXPLICIT_IDS = 20_000

# The statuses each action applies to; a selected task in any other status is skipped (and counted so).
CHANGEABLE = TASK_ACTIVE - {TaskStatus.TOABORT}
ACTION_SOURCES = {
    "abort": TASK_MOVES["abort"].sources,
    "obsolete": TASK_MOVES["obsolete"].sources,
    "retry": TASK_MOVES["retry"].sources,
    "finish": TASK_MOVES["finish"].sources,
    "pause": TASK_MOVES["pause"].sources,
    "resume": TASK_MOVES["resume"].sources,
    "change_priority": CHANGEABLE,
    "increase_attempts": CHANGEABLE | TASK_RETRYABLE,
}
ACTIONS = tuple(ACTION_SOURCES)
# For people: "812 will be aborted; 188 are already final and will be skipped".
PAST_TENSE = {
    "abort": "aborted",
    "obsolete": "made obsolete",
    "retry": "retried",
    "finish": "finished",
    "pause": "paused",
    "resume": "resumed",
    "change_priority": "given the new priority",
    "increase_attempts": "given more attempts",
}
SKIP_REASON = {
    "abort": "are already final or being aborted",
    "obsolete": "are not done or finished",
    "retry": "are not finished, failed or exhausted",
    "finish": "are already final or being aborted or retried",
    "pause": "are not registered, defined, running or waiting for a retry",
    "resume": "are not paused",
    "change_priority": "are final or being aborted",
    "increase_attempts": "are done, broken, aborted, obsolete or being aborted",
}


class ActionInputError(Exception):
    """Bad input: `errors` maps each field to what was expected (a 400, nothing written)."""

    def __init__(self, errors: dict):
        super().__init__(errors)
        self.errors = errors


# ---------------------------------------------------------------------------------------------- validation


def action_check(actor, action) -> None:
    if action not in ACTION_SOURCES:
        raise ActionInputError({"action": [f"unknown action {action!r}; expected one of: {', '.join(ACTIONS)}"]})
    if not permissions.can(actor, action):
        raise PermissionDenied(f"{actor or 'anonymous'} may not {action} tasks")


def filter_querydict(filters) -> QueryDict:
    """A filter given as a dict (API) or QueryDict (page) -> a QueryDict, refusing unknown fields."""
    if isinstance(filters, QueryDict):
        data = filters.copy()
    elif isinstance(filters, dict):
        data = QueryDict(mutable=True)
        for key, value in filters.items():
            values = value if isinstance(value, list | tuple) else [value]
            data.setlist(key, ["" if v is None else str(v) for v in values])
    else:
        raise ActionInputError({"filter": ["expected an object of task filter fields, e.g. {'request': 42}"]})
    unknown = sorted(set(data) - set(TaskFilterSet.base_filters))
    if unknown:
        known = ", ".join(sorted(TaskFilterSet.base_filters))
        raise ActionInputError({"filter": [f"unknown field(s) {', '.join(unknown)}; known fields: {known}"]})
    return data


def filtered_tasks(actor, filters):
    """The tasks matching a filter that `actor` may act on, and how many matching tasks they may not."""
    filterset = TaskFilterSet(filter_querydict(filters), queryset=ProductionTask.objects.order_by())
    if not filterset.is_valid():
        raise ActionInputError({f"filter.{name}": errors for name, errors in filterset.errors.items()})
    matching = filterset.qs.order_by()
    return permissions.actionable(actor, matching), matching


def selection_resolve(*, actor, task_ids=None, filters=None) -> list[int]:
    """The sorted ids of the selected tasks: explicit ids (all must be actionable) or a filter (only actionable)."""
    if (task_ids is None) == (filters is None):
        raise ActionInputError({"selection": ["give either task_ids or filter, not both and not neither"]})
    if task_ids is not None:
        return explicit_ids(actor, task_ids)
    actionable, matching = filtered_tasks(actor, filters)
    ids = sorted(actionable.values_list("pk", flat=True))
    if not ids:
        if matching.exists():
            raise PermissionDenied("you may not act on any of the tasks matching this filter")
        raise ActionInputError({"filter": ["no task matches this filter"]})
    return ids


def explicit_ids(actor, task_ids) -> list[int]:
    if not isinstance(task_ids, list | tuple) or not task_ids:
        raise ActionInputError({"task_ids": ["expected a non-empty list of task ids"]})
    if len(task_ids) > MAX_EXPLICIT_IDS:
        raise ActionInputError({"task_ids": [f"at most {MAX_EXPLICIT_IDS:,} ids; select larger sets by filter"]})
    if not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in task_ids):
        raise ActionInputError({"task_ids": ["expected positive integers"]})
    wanted = set(task_ids)
    existing = set(ProductionTask.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    if missing := sorted(wanted - existing):
        raise ActionInputError({"task_ids": [f"no such task: {', '.join(map(str, missing[:20]))}"]})
    allowed_qs = permissions.actionable(actor, ProductionTask.objects.filter(pk__in=wanted))
    allowed = set(allowed_qs.values_list("pk", flat=True))
    if forbidden := sorted(wanted - allowed):
        shown = ", ".join(map(str, forbidden[:50])) + (" ..." if len(forbidden) > 50 else "")
        raise PermissionDenied(f"you may not act on task(s) {shown}; nothing was done")
    return sorted(wanted)


def integer_param(params, name, *, low, high) -> int:
    value = params.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ActionInputError({f"params.{name}": [f"expected an integer from {low} to {high}"]})
    if not low <= value <= high:
        raise ActionInputError({f"params.{name}": [f"{value} is out of range: expected {low} to {high}"]})
    return value


PARAMS_OF = {"change_priority": {"priority"}, "increase_attempts": {"increase"}, "finish": {"mode"}}


def params_clean(*, actor, action, params, group_ids) -> dict:
    """The action's parameters, checked (types, ranges, the group's priority cap) before anything is written."""
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ActionInputError({"params": ["expected an object"]})
    if unknown := sorted(set(params) - PARAMS_OF.get(action, set())):
        expected = ", ".join(sorted(PARAMS_OF.get(action, set()))) or "none"
        message = f"unknown parameter(s) {', '.join(unknown)} for {action}; expected: {expected}"
        raise ActionInputError({"params": [message]})
    if action == "change_priority":
        priority = integer_param(params, "priority", low=0, high=MAX_PRIORITY)
        for group in PhysicsGroup.objects.filter(pk__in=group_ids):
            if error := permissions.check_priority(actor, group, priority):
                raise ActionInputError({"params.priority": [error]})
        return {"priority": priority}
    if action == "increase_attempts":
        return {"increase": integer_param(params, "increase", low=1, high=MAX_ATTEMPTS_INCREASE)}
    if action == "finish":
        mode = params.get("mode", "soft")
        if mode not in ("soft", "hard"):
            raise ActionInputError({"params.mode": [f"{mode!r}: expected 'soft' or 'hard'"]})
        return {"mode": mode}
    return {}


def comment_clean(comment) -> str:
    if comment is None:
        return ""
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
        raise ActionInputError({"comment": [f"expected text of at most {MAX_COMMENT} characters"]})
    return comment.strip()


# ------------------------------------------------------------------------------------------ start (request)


def operation_start(*, actor, action, task_ids=None, filters=None, params=None, comment="") -> Operation:
    """Validate everything, store the selection and queue the worker. Never loops over tasks."""
    action_check(actor, action)
    comment = comment_clean(comment)
    ids = selection_resolve(actor=actor, task_ids=task_ids, filters=filters)
    scope = ProductionTask.objects.filter(pk__in=ids) if task_ids is not None else None
    if scope is None:
        scope, _ = filtered_tasks(actor, filters)
    group_ids = set(scope.order_by().values_list("group_id", flat=True).distinct())
    params = params_clean(actor=actor, action=action, params=params, group_ids=group_ids)
    request_ids = list(scope.order_by().values_list("request_id", flat=True).distinct()[:2])
    selection = {"task_ids": ids}
    if filters is not None:
        selection["filter"] = {k: v for k, v in filter_querydict(filters).lists()}
    with transaction.atomic():
        return operation_create(
            action=action,
            actor=actor,
            request_id=request_ids[0] if len(request_ids) == 1 else None,
            selection=selection,
            params=params,
            comment=comment,
            total=len(ids),
        )


def selection_summary(*, actor, action, task_ids=None, filters=None) -> dict:
    """For the confirmation page: how many are selected, by status, and how many the action will change."""
    action_check(actor, action)
    ids_given = task_ids is not None
    ids = selection_resolve(actor=actor, task_ids=task_ids, filters=filters)
    if ids_given:
        scope, left_out = ProductionTask.objects.filter(pk__in=ids), 0
    else:
        scope, matching = filtered_tasks(actor, filters)
        left_out = matching.count() - len(ids)
    by_status = dict(scope.order_by().values_list("status").annotate(n=Count("id")))
    sources = ACTION_SOURCES[action]
    will = sum(n for s, n in by_status.items() if s in sources)
    skipped = {s: n for s, n in sorted(by_status.items()) if s not in sources}
    return {
        "total": len(ids),
        "by_status": sorted(by_status.items()),
        "will": will,
        "skipped": sum(skipped.values()),
        "skipped_by_status": skipped,
        "left_out": left_out,
        "sentence": summary_sentence(action, len(ids), will, skipped),
    }


def summary_sentence(action, total, will, skipped: dict) -> str:
    sentence = f"{total:,} selected: {will:,} will be {PAST_TENSE[action]}"
    if skipped:
        reason = SKIP_REASON[action]
        if action == "abort" and set(skipped) <= TASK_FINAL:
            reason = "are already final"
        sentence += f"; {sum(skipped.values()):,} {reason} and will be skipped"
    return sentence


# -------------------------------------------------------------------------------------------- run (worker)


@dataclass
class TaskBatch:
    changed: list[int] = field(default_factory=list)
    kill: list[int] = field(default_factory=list)  # running jobs to kill through the executor after commit
    messages: list[str] = field(default_factory=list)


def next_tasks(op: Operation, cursor: int, size: int) -> list[int]:
    ids = op.selection.get("task_ids", [])
    start = bisect.bisect_right(ids, cursor)
    return ids[start : start + size]


def task_action_kind(action: str) -> OperationKind:
    """The runner's view of a task action: its batch function, the audit rows and the kills after commit."""
    apply_batch = BATCH_ACTIONS[action]

    def apply(batch: list[int], op: Operation) -> BatchResult:
        result = apply_batch(batch, op)
        audit_batch(op, result.changed)
        after = [lambda: kill_jobs(op, result.kill)] if result.kill else []
        return BatchResult(
            done=len(result.changed), skipped=len(batch) - len(result.changed), messages=result.messages,
            after_commit=after,
        )  # fmt: skip

    finish = (
        (lambda op: notifications.mail_after_commit(lambda: mail_tasks_aborted(operation_id=op.pk)))
        if action == "abort"
        else None
    )
    return OperationKind(next_batch=next_tasks, apply=apply, finish=finish)


def mail_tasks_aborted(*, operation_id: int) -> int:
    """Tell each request's group how many of its tasks the abort changed."""
    op = Operation.objects.select_related("actor").get(pk=operation_id)
    changed = audit_by_operation(op.pk).values("object_id")
    per_request = dict(
        ProductionTask.objects.filter(pk__in=changed).values_list("request_id").annotate(n=Count("id")).order_by()
    )
    requests = op._meta.get_field("request").related_model.objects.filter(pk__in=per_request)
    requests = requests.select_related("group").order_by("pk")
    return notifications.mail_tasks_aborted(op=op, per_request=per_request, requests=requests)


def kill_jobs(op: Operation, job_ids: list[int]) -> None:
    """Ask the executor to kill running jobs; it reports them cancelled at its next poll."""
    try:
        get_executor().kill(job_ids)
    except Exception as exc:  # the engine kills the running jobs of toabort tasks as well; say so, go on
        log.exception("operation %s: the executor could not kill %d jobs", op.pk, len(job_ids))
        with transaction.atomic():
            operation_note(op, f"the executor could not kill {len(job_ids)} running jobs: {exc}")


def audit_batch(op: Operation, task_ids: list[int]) -> None:
    """One audit row per changed task, in one insert; a redone batch writes no row twice."""
    audit_record_many(
        actor_id=op.actor_id,
        verb=op.action,
        model=ProductionTask,
        object_ids=task_ids,
        comment=op.comment,
        details={"params": op.params} if op.params else {},
        operation_id=op.pk,
    )


# ------------------------------------------------------------------------------------ the actions, per batch


def candidates(batch: list[int], action: str, *, exclude_priority=None, **extra) -> list[int]:
    """The tasks of a batch in a status the action applies to (read without locks)."""
    qs = ProductionTask.objects.filter(pk__in=batch, status__in=sorted(ACTION_SOURCES[action]), **extra)
    if exclude_priority is not None:
        qs = qs.exclude(priority=exclude_priority)
    return list(qs.order_by("pk").values_list("pk", flat=True))


def locked_candidates(task_ids: list[int], action: str, **extra) -> list[int]:
    """The same, locked in primary-key order: the compare-and-set for changes that are not status moves."""
    qs = ProductionTask.objects.select_for_update().filter(
        pk__in=task_ids, status__in=sorted(ACTION_SOURCES[action]), **extra
    )
    return list(qs.order_by("pk").values_list("pk", flat=True))


def without_active_jobs(task_ids: list[int]) -> list[int]:
    qs = ProductionTask.objects.filter(pk__in=task_ids, jobs_defined=0, jobs_assigned=0, jobs_running=0)
    return list(qs.values_list("pk", flat=True))


def abort_batch(batch: list[int], op: Operation) -> TaskBatch:
    """Jobs first, then tasks: the lock order of jobs_move, so an abort and the executor never deadlock.

    A few statements per batch, whatever its size: cancel the waiting jobs of the abortable tasks (their
    status read in the same statement), move the tasks with their counters (compare-and-set, `aborted` at
    once when no job is left), then read the running jobs to kill once the tasks are locked.
    """
    sources = ACTION_SOURCES["abort"]
    deltas = jobs_cancel_of_tasks(task_ids=batch, statuses=NOT_RUNNING_JOBS, apply=False, task_statuses=sources)
    rows = tasks_move_counting_rows(task_ids=batch, move="abort", deltas=deltas, idle_move="aborted")
    late = [pk for pk, _status, waiting in rows if waiting]
    if late:
        abort_late_jobs(late)
    moved = {pk: status for pk, status, _ in rows}
    still_active = [pk for pk, status in moved.items() if status == TaskStatus.TOABORT]
    return TaskBatch(changed=sorted(moved), kill=jobs_running_of_tasks(task_ids=still_active))


def abort_late_jobs(task_ids: list[int]) -> None:
    """Waiting jobs that a concurrent transaction created or brokered after the cancel's snapshot (a retry of a
    job that just failed, a merge): cancelled now that this transaction holds their tasks, so no creator can
    add more (creators lock the task and check its status first). Jobs another transaction holds are skipped
    rather than waited for (a task lock is held: waiting for a job could deadlock with `jobs_move`); the
    engine's abort pass stops those."""
    jobs_cancel_of_tasks(task_ids=task_ids, statuses=NOT_RUNNING_JOBS, skip_locked=True)
    tasks_abort_settle(task_ids=task_ids)


def tasks_abort_settle(*, task_ids: list[int]) -> list[int]:
    """Tasks being aborted with no active job left become `aborted` (the engine does the same for the rest)."""
    return tasks_move(task_ids=without_active_jobs(task_ids), move="aborted", values={"ended_at": timezone.now()})


def finish_batch(batch: list[int], op: Operation) -> TaskBatch:
    if op.params.get("mode") == "hard":
        todo = candidates(batch, "finish")
        deltas = jobs_cancel_of_tasks(task_ids=todo, statuses=NOT_RUNNING_JOBS, apply=False)
        moved = sorted(tasks_move_counting(task_ids=todo, move="finish", deltas=deltas))
        ProductionTask.objects.filter(pk__in=moved).update(ended_at=timezone.now())
        return TaskBatch(changed=moved, kill=jobs_running_of_tasks(task_ids=moved))
    # Soft: no new jobs; the engine ends the task when its running jobs end. Tasks with none end now.
    marked = locked_candidates(batch, "finish", soft_finish=False)
    ProductionTask.objects.filter(pk__in=marked).update(soft_finish=True, updated=timezone.now())
    tasks_move(task_ids=without_active_jobs(marked), move="finish", values={"ended_at": timezone.now()})
    return TaskBatch(changed=marked)


def move_batch(move: str, values: Callable[[], dict] | None = None):
    def apply(batch: list[int], op: Operation) -> TaskBatch:
        return TaskBatch(changed=tasks_move(task_ids=batch, move=move, values=values() if values else None))

    return apply


def change_priority_batch(batch: list[int], op: Operation) -> TaskBatch:
    priority = op.params["priority"]
    todo = candidates(batch, "change_priority", exclude_priority=priority)
    # Not-yet-running jobs take the new priority too; jobs first, as everywhere (lock order).
    jobs_set_of_tasks(task_ids=todo, statuses=NOT_RUNNING_JOBS, values={"priority": priority})
    changed = locked_candidates(todo, "change_priority")
    ProductionTask.objects.filter(pk__in=changed).update(priority=priority, updated=timezone.now())
    return TaskBatch(changed=changed)


def increase_attempts_batch(batch: list[int], op: Operation) -> TaskBatch:
    changed = locked_candidates(batch, "increase_attempts")
    ProductionTask.objects.filter(pk__in=changed).update(
        max_attempts=F("max_attempts") + op.params["increase"], updated=timezone.now()
    )
    return TaskBatch(changed=changed)


BATCH_ACTIONS = {
    "abort": abort_batch,
    "finish": finish_batch,
    "obsolete": move_batch("obsolete"),
    # A retried task starts afresh: an earlier soft finish no longer applies.
    "retry": move_batch("retry", lambda: {"soft_finish": False, "ended_at": None}),
    "pause": move_batch("pause"),
    "resume": move_batch("resume"),
    "change_priority": change_priority_batch,
    "increase_attempts": increase_attempts_batch,
}

for _action in BATCH_ACTIONS:
    operation_kind_register(_action, task_action_kind(_action))
