"""Every allowed and every refused move of the transition tables (DOMAIN.md's status words)."""

import itertools

import pytest

from requests_app.models import RequestStatus
from requests_app.states import REQUEST_MOVES, REQUEST_TRANSITIONS
from tasks.states import (
    JOB_ACTIVE,
    JOB_FINAL,
    JOB_TRANSITIONS,
    OPERATION_TRANSITIONS,
    TASK_ABORTABLE,
    TASK_FINAL,
    TASK_MOVES,
    TASK_TRANSITIONS,
    JobStatus,
    OperationStatus,
    TaskStatus,
    can_move,
)

T = TaskStatus
TASK_ALLOWED = {
    (T.REGISTERED, T.DEFINED),
    (T.REGISTERED, T.BROKEN),
    (T.REGISTERED, T.TOABORT),
    (T.REGISTERED, T.PAUSED),
    (T.REGISTERED, T.FINISHED),
    (T.DEFINED, T.RUNNING),
    (T.DEFINED, T.DONE),
    (T.DEFINED, T.FINISHED),
    (T.DEFINED, T.FAILED),
    (T.DEFINED, T.BROKEN),
    (T.DEFINED, T.TOABORT),
    (T.DEFINED, T.PAUSED),
    (T.RUNNING, T.DONE),
    (T.RUNNING, T.FINISHED),
    (T.RUNNING, T.FAILED),
    (T.RUNNING, T.BROKEN),
    (T.RUNNING, T.EXHAUSTED),
    (T.RUNNING, T.TOABORT),
    (T.RUNNING, T.PAUSED),
    (T.PAUSED, T.RUNNING),
    (T.PAUSED, T.TOABORT),
    (T.PAUSED, T.FINISHED),
    (T.EXHAUSTED, T.TORETRY),
    (T.EXHAUSTED, T.TOABORT),
    (T.EXHAUSTED, T.FINISHED),
    (T.TORETRY, T.RUNNING),
    (T.TORETRY, T.TOABORT),
    (T.TORETRY, T.PAUSED),
    (T.TOABORT, T.ABORTED),
    (T.DONE, T.OBSOLETE),
    (T.FINISHED, T.OBSOLETE),
    (T.FINISHED, T.TORETRY),
    (T.FAILED, T.TORETRY),
}


@pytest.mark.parametrize("source, target", list(itertools.product(T, T)))
def test_task_transition_table(source, target):
    assert can_move(TASK_TRANSITIONS, source, target) == ((source, target) in TASK_ALLOWED)


def test_final_task_statuses_are_the_six_of_the_domain():
    assert {s.value for s in TASK_FINAL} == {"done", "finished", "failed", "broken", "aborted", "obsolete"}


def test_abort_allowed_from_every_non_final_status_and_obsolete_only_from_done_or_finished():
    assert TASK_MOVES["abort"].sources == TASK_ABORTABLE == set(T) - TASK_FINAL - {T.TOABORT}
    assert TASK_MOVES["obsolete"].sources == {T.DONE, T.FINISHED}
    assert TASK_MOVES["retry"].sources == {T.FINISHED, T.FAILED, T.EXHAUSTED}


def test_final_task_statuses_only_leave_for_obsolete_or_retry():
    for status in TASK_FINAL:
        assert TASK_TRANSITIONS.get(status, set()) <= {T.OBSOLETE, T.TORETRY}


J = JobStatus
JOB_ALLOWED = {
    (J.DEFINED, J.ASSIGNED),
    (J.ASSIGNED, J.RUNNING),
    (J.RUNNING, J.FINISHED),
    (J.ASSIGNED, J.FAILED),
    (J.RUNNING, J.FAILED),
    (J.DEFINED, J.CANCELLED),
    (J.ASSIGNED, J.CANCELLED),
    (J.RUNNING, J.CANCELLED),
}


@pytest.mark.parametrize("source, target", list(itertools.product(J, J)))
def test_job_transition_table(source, target):
    assert can_move(JOB_TRANSITIONS, source, target) == ((source, target) in JOB_ALLOWED)


def test_a_job_never_leaves_a_final_status():
    assert all(status not in JOB_TRANSITIONS for status in JOB_FINAL)
    assert set(J) == JOB_ACTIVE | JOB_FINAL


R = RequestStatus
REQUEST_ALLOWED = {
    (R.DRAFT, R.WAITING),
    (R.DRAFT, R.DRAFT),
    (R.WAITING, R.DRAFT),
    (R.WAITING, R.APPROVED),
    (R.APPROVED, R.WORKING),
    (R.WORKING, R.DONE),
    (R.WORKING, R.FINISHED),
    (R.DONE, R.WORKING),
    (R.FINISHED, R.WORKING),
    (R.WAITING, R.HOLD),
    (R.APPROVED, R.HOLD),
    (R.HOLD, R.WAITING),
    (R.DRAFT, R.CANCELLED),
    (R.WAITING, R.CANCELLED),
    (R.APPROVED, R.CANCELLED),
    (R.HOLD, R.CANCELLED),
}


@pytest.mark.parametrize("source, target", list(itertools.product(R, R)))
def test_request_transition_table(source, target):
    assert can_move(REQUEST_TRANSITIONS, source, target) == ((source, target) in REQUEST_ALLOWED)


def test_request_verbs_are_the_ones_the_portal_offers():
    assert {"send", "approve", "hold", "cancel"} <= set(REQUEST_MOVES)


O = OperationStatus  # noqa: E741


@pytest.mark.parametrize("source, target", list(itertools.product(O, O)))
def test_operation_transition_table(source, target):
    allowed = {
        (O.QUEUED, O.RUNNING),
        (O.RUNNING, O.RUNNING),
        (O.RUNNING, O.DONE),
        (O.QUEUED, O.FAILED),
        (O.RUNNING, O.FAILED),
    }
    assert can_move(OPERATION_TRANSITIONS, source, target) == ((source, target) in allowed)
