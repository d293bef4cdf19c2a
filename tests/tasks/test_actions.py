"""Bulk actions on tasks: what each action does, what it skips and says, and what it refuses."""

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db.models import Count

from deft.models import AuditEvent
from tasks.models import Job, Operation, ProductionTask
from tasks.operations import runner
from tasks.operations import task_actions as actions
from tasks.operations.task_actions import ActionInputError, operation_run, operation_start, selection_summary
from tasks.states import TaskStatus
from tests.factories import ProductionRequestFactory, add_jobs, make_tasks

ALL_STATUSES = [s.value for s in TaskStatus]
# What each action turns each status into (absent: skipped). Soft finish of a task without active jobs ends it.
EXPECTED = {
    "abort": {
        s: "aborted"
        for s in ALL_STATUSES
        if s not in ("done", "finished", "failed", "broken", "aborted", "obsolete", "toabort")
    },
    "obsolete": {"done": "obsolete", "finished": "obsolete"},
    "retry": {"finished": "toretry", "failed": "toretry", "exhausted": "toretry"},
    "finish": {s: "finished" for s in ("registered", "defined", "running", "paused", "exhausted")},
    "pause": {s: "paused" for s in ("registered", "defined", "running", "toretry")},
    "resume": {"paused": "running"},
}


def run(actor, action, **kw):
    op = operation_start(actor=actor, action=action, **kw)
    return operation_run(operation_id=op.pk)


def one_task_per_status(request):
    return {s: make_tasks(1, request=request, status=s)[0] for s in ALL_STATUSES}


def statuses(tasks):
    return dict(ProductionTask.objects.filter(pk__in=[t.pk for t in tasks]).values_list("pk", "status"))


def recount_ok(task_ids):
    for task in ProductionTask.objects.filter(pk__in=task_ids):
        real = dict(task.jobs.values_list("status").annotate(n=Count("id")).order_by())
        for s in ("defined", "assigned", "running", "finished", "failed", "cancelled"):
            assert getattr(task, f"jobs_{s}") == real.get(s, 0), (task.pk, s)


@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_every_action_moves_every_status_as_the_table_says_and_counts_skips(action, prodmgr):
    request = ProductionRequestFactory()
    tasks = one_task_per_status(request)
    op = run(prodmgr, action, filters={"request": request.pk})
    after = statuses(tasks.values())
    for status, task in tasks.items():
        assert after[task.pk] == EXPECTED[action].get(status, status), status
    assert (op.status, op.total, op.done, op.skipped) == ("done", 13, len(EXPECTED[action]), 13 - len(EXPECTED[action]))


@pytest.mark.parametrize(
    "action, params, field, value",
    [
        ("change_priority", {"priority": 565}, "priority", 565),
        ("increase_attempts", {"increase": 5}, "max_attempts", 35),
    ],
)
def test_changes_of_parameters_apply_to_tasks_that_are_not_final(action, params, field, value, prodmgr):
    request = ProductionRequestFactory()
    tasks = one_task_per_status(request)
    op = run(prodmgr, action, filters={"request": request.pk}, params=params)
    applies = actions.ACTION_SOURCES[action]
    for status, task in tasks.items():
        task.refresh_from_db()
        assert (getattr(task, field) == value) == (status in applies), status
    assert (op.done, op.skipped) == (len(applies), 13 - len(applies))


def test_abort_skips_tasks_that_are_already_done(prodmgr):
    running, done = make_tasks(1, status="running")[0], make_tasks(1, status="done")[0]
    op = run(prodmgr, "abort", task_ids=[running.pk, done.pk], comment="bad cache")
    assert (op.done, op.skipped) == (1, 1)
    assert statuses([running, done]) == {running.pk: "aborted", done.pk: "done"}


def test_abort_cancels_waiting_jobs_kills_running_ones_and_keeps_counters_exact(
    prodmgr, executor, django_capture_on_commit_callbacks
):
    busy, idle = make_tasks(2, status="running")
    add_jobs([busy], defined=2, assigned=1, running=2, finished=3)
    add_jobs([idle], defined=3, finished=1)
    with django_capture_on_commit_callbacks(execute=True):
        run(prodmgr, "abort", task_ids=[busy.pk, idle.pk])
    assert statuses([busy, idle]) == {busy.pk: "toabort", idle.pk: "aborted"}
    running = set(Job.objects.filter(task=busy, status="running").values_list("pk", flat=True))
    assert set(executor.killed) == running and len(running) == 2
    assert not Job.objects.filter(task__in=[busy, idle], status__in=["defined", "assigned"]).exists()
    recount_ok([busy.pk, idle.pk])


def test_every_changed_task_gets_one_audit_row_with_the_operation_actor_and_comment(prodmgr):
    tasks = make_tasks(5, status="running") + make_tasks(2, status="done")
    op = run(prodmgr, "pause", task_ids=[t.pk for t in tasks], comment="site downtime")
    rows = AuditEvent.objects.filter(operation_id=op.pk)
    assert rows.count() == 5
    assert set(rows.values_list("actor", "verb", "comment")) == {(prodmgr.pk, "pause", "site downtime")}


def test_a_rerun_of_a_finished_operation_changes_nothing_twice(prodmgr):
    tasks = make_tasks(4, status="running")
    op = run(prodmgr, "increase_attempts", task_ids=[t.pk for t in tasks], params={"increase": 3})
    Operation.objects.filter(pk=op.pk).update(status="running")  # as if the ack was lost after the last batch
    operation_run(operation_id=op.pk)
    attempts = ProductionTask.objects.filter(pk__in=[t.pk for t in tasks]).values_list("max_attempts", flat=True)
    assert set(attempts) == {33}
    assert AuditEvent.objects.filter(operation_id=op.pk).count() == 4


def test_an_interrupted_operation_resumes_after_its_cursor(prodmgr, settings):
    tasks = make_tasks(10, status="running")
    settings.DEFT_OPERATION_BATCH_SIZE = 3
    op = operation_start(
        actor=prodmgr, action="increase_attempts", task_ids=[t.pk for t in tasks], params={"increase": 1}
    )
    Operation.objects.filter(pk=op.pk).update(status="running")
    ids = sorted(t.pk for t in tasks)
    assert runner.batch_once(op) and runner.batch_once(op)  # the worker dies after two batches
    op = operation_run(operation_id=op.pk)
    assert (op.done, op.skipped, op.cursor) == (10, 0, ids[-1])
    assert set(ProductionTask.objects.filter(pk__in=ids).values_list("max_attempts", flat=True)) == {31}


def test_change_priority_also_changes_jobs_that_are_not_running_yet(prodmgr):
    task = make_tasks(1, status="running", priority=560)[0]
    add_jobs([task], defined=1, assigned=1, running=1)
    run(prodmgr, "change_priority", task_ids=[task.pk], params={"priority": 600})
    assert dict(task.jobs.values_list("status", "priority")) == {"defined": 600, "assigned": 600, "running": 560}


def test_hard_finish_cancels_waiting_jobs_kills_running_ones_and_finishes_at_once(
    prodmgr, executor, django_capture_on_commit_callbacks
):
    task = make_tasks(1, status="running")[0]
    add_jobs([task], defined=1, running=1)
    with django_capture_on_commit_callbacks(execute=True):
        run(prodmgr, "finish", task_ids=[task.pk], params={"mode": "hard"})
    task.refresh_from_db()
    assert task.status == "finished" and task.jobs_defined == 0 and len(executor.killed) == 1


def test_soft_finish_lets_running_jobs_end(prodmgr):
    task = make_tasks(1, status="running")[0]
    add_jobs([task], running=1)
    op = run(prodmgr, "finish", task_ids=[task.pk], params={"mode": "soft"})
    task.refresh_from_db()
    assert (task.status, task.soft_finish, task.jobs_running, op.done) == ("running", True, 1, 1)


def test_a_retry_clears_an_earlier_soft_finish(prodmgr):
    task = make_tasks(1, status="finished", soft_finish=True)[0]
    run(prodmgr, "retry", task_ids=[task.pk])
    task.refresh_from_db()
    assert (task.status, task.soft_finish) == ("toretry", False)


def test_an_abort_mails_each_affected_request_once_to_its_group(prodmgr, django_capture_on_commit_callbacks):
    first, second = ProductionRequestFactory(), ProductionRequestFactory()
    tasks = make_tasks(3, request=first, status="running") + make_tasks(2, request=second, status="defined")
    with django_capture_on_commit_callbacks(execute=True):
        run(prodmgr, "abort", task_ids=[t.pk for t in tasks], comment="wrong p-tag")
    assert sorted(m.to[0] for m in mail.outbox) == sorted([first.group.egroup, second.group.egroup])
    assert any("3 tasks" in m.subject and "wrong p-tag" in m.body for m in mail.outbox)


def test_a_group_manager_selecting_by_filter_only_gets_their_groups_tasks(susy_manager, susy, top):
    mine = make_tasks(3, request=ProductionRequestFactory(group=susy), status="running")
    theirs = make_tasks(2, request=ProductionRequestFactory(group=top), status="running")
    op = run(susy_manager, "pause", filters={"status": "running"})
    assert op.total == 3
    assert set(statuses(mine).values()) == {"paused"} and set(statuses(theirs).values()) == {"running"}


def test_explicit_ids_with_a_task_of_another_group_are_refused_naming_it(susy_manager, susy, top):
    mine = make_tasks(1, request=ProductionRequestFactory(group=susy), status="running")[0]
    theirs = make_tasks(1, request=ProductionRequestFactory(group=top), status="running")[0]
    with pytest.raises(PermissionDenied, match=str(theirs.pk)):
        operation_start(actor=susy_manager, action="abort", task_ids=[mine.pk, theirs.pk])
    assert not Operation.objects.exists() and statuses([mine]) == {mine.pk: "running"}


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"action": "explode", "filters": {}}, "action"),
        ({"action": "abort", "filters": {"colour": "red"}}, "filter"),
        ({"action": "abort", "filters": {"status": "sleeping"}}, "filter.status"),
        ({"action": "abort", "filters": {"request": "forty-two"}}, "filter.request"),
        ({"action": "abort", "task_ids": [1], "filters": {}}, "selection"),
        ({"action": "abort"}, "selection"),
        ({"action": "abort", "task_ids": [999999]}, "task_ids"),
        ({"action": "change_priority", "filters": {}, "params": {"priority": "high"}}, "params.priority"),
        ({"action": "change_priority", "filters": {}, "params": {"priority": 10**6}}, "params.priority"),
        ({"action": "increase_attempts", "filters": {}, "params": {"increase": -2}}, "params.increase"),
        ({"action": "increase_attempts", "filters": {}, "params": {"increase": 0}}, "params.increase"),
        ({"action": "finish", "filters": {}, "params": {"mode": "gentle"}}, "params.mode"),
        ({"action": "pause", "filters": {}, "params": {"priority": 1}}, "params"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(kw, field, prodmgr):
    task = make_tasks(1, status="running")[0]
    with pytest.raises(ActionInputError) as caught:
        operation_start(actor=prodmgr, **kw)
    assert field in caught.value.errors
    assert not Operation.objects.exists() and statuses([task]) == {task.pk: "running"}


def test_a_group_manager_may_not_raise_priority_above_the_cap(susy_manager, susy):
    task = make_tasks(1, request=ProductionRequestFactory(group=susy), status="running")[0]
    with pytest.raises(ActionInputError) as caught:
        operation_start(actor=susy_manager, action="change_priority", task_ids=[task.pk], params={"priority": 571})
    assert "570" in caught.value.errors["params.priority"][0]


def test_the_summary_counts_the_selection_by_status(prodmgr):
    request = ProductionRequestFactory()
    make_tasks(812, request=request, status="running")
    make_tasks(188, request=request, status="done")
    summary = selection_summary(actor=prodmgr, action="abort", filters={"request": request.pk})
    assert summary["sentence"] == "1,000 selected: 812 will be aborted; 188 are already final and will be skipped"
