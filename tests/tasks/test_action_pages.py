"""Bulk actions through the task list, the confirmation page, the operation page and the API."""

import pytest
from django.urls import reverse

from tasks.models import Operation
from tasks.operations.task_actions import ACTIONS, operation_run
from tests.conftest import ROLES
from tests.factories import ProductionRequestFactory, make_tasks

PARAMS = {"change_priority": {"priority": 565}, "increase_attempts": {"increase": 2}, "finish": {"mode": "soft"}}
ALLOWED = {"group_manager", "production_manager"}


@pytest.fixture
def susy_tasks(susy):
    return make_tasks(3, request=ProductionRequestFactory(group=susy), status="running")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ACTIONS)
def test_who_may_start_each_action_through_the_api(action, role, api_as, susy_tasks):
    payload = {"action": action, "task_ids": [t.pk for t in susy_tasks], "params": PARAMS.get(action, {})}
    response = api_as(role).post("/api/tasks/actions/", payload, format="json")
    if role in ALLOWED:
        assert response.status_code == 202, response.content
        assert response.json()["total"] == 3 and response.json()["status"] == "queued"
    else:
        assert response.status_code in (401, 403)
        assert not Operation.objects.exists()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ACTIONS)
def test_who_may_start_each_action_through_the_page(action, role, client_as, susy_tasks):
    client = client_as(role)
    form = {"action": action, "task_ids": [t.pk for t in susy_tasks], **PARAMS.get(action, {})}
    confirm = client.get(reverse("task-action-confirm"), form)
    response = client.post(reverse("task-action-confirm"), form)
    if role == "anonymous":
        assert confirm.status_code == response.status_code == 302 and "/login/" in response["Location"]
    elif role in ALLOWED:
        assert confirm.status_code == 200 and b"3 selected" in confirm.content
        op = Operation.objects.get()
        assert response.status_code == 302 and response["Location"] == op.get_absolute_url()
    else:
        assert confirm.status_code == response.status_code == 403
    if role not in ALLOWED:
        assert not Operation.objects.exists()


def test_explicit_ids_of_another_group_get_a_403_naming_them(api_as, susy, top):
    theirs = make_tasks(2, request=ProductionRequestFactory(group=top), status="running")
    mine = make_tasks(1, request=ProductionRequestFactory(group=susy), status="running")
    ids = [t.pk for t in mine + theirs]
    response = api_as("group_manager").post("/api/tasks/actions/", {"action": "abort", "task_ids": ids}, format="json")
    assert response.status_code == 403
    assert all(str(t.pk) in response.json()["detail"] for t in theirs)
    assert not Operation.objects.exists()


def test_a_filter_of_only_other_groups_tasks_is_refused(api_as, top):
    request = ProductionRequestFactory(group=top)
    make_tasks(2, request=request, status="running")
    payload = {"action": "pause", "filter": {"request": request.pk}}
    assert api_as("group_manager").post("/api/tasks/actions/", payload, format="json").status_code == 403


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"action": "nope", "filter": {}}, "action"),
        ({"action": "abort", "filter": {"bogus": 1}}, "filter"),
        ({"action": "abort", "filter": {"status": ["zombie"]}}, "filter.status"),
        ({"action": "abort", "filter": {"priority_min": "x"}}, "filter.priority_min"),
        ({"action": "change_priority", "filter": {}, "params": {"priority": 99999}}, "params.priority"),
        ({"action": "change_priority", "filter": {}, "params": {"priority": 1.5}}, "params.priority"),
        ({"action": "increase_attempts", "filter": {}, "params": {"increase": -1}}, "params.increase"),
        ({"action": "abort", "task_ids": "all"}, "task_ids"),
    ],
)
def test_bad_api_input_is_a_400_naming_the_field(payload, field, api_as, susy_tasks):
    response = api_as("production_manager").post("/api/tasks/actions/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Operation.objects.exists()


def test_the_api_answers_at_once_and_the_operation_can_be_followed(api_as, susy_tasks):
    api = api_as("production_manager")
    payload = {"action": "pause", "filter": {"status": "running"}, "comment": "downtime"}
    started = api.post("/api/tasks/actions/", payload, format="json")
    assert started.status_code == 202
    operation_run(operation_id=started.json()["id"])
    followed = api.get(started["Location"]).json()
    assert (followed["status"], followed["done"], followed["progress"]) == ("done", 3, 1.0)


def test_the_action_post_makes_the_same_queries_for_ten_or_a_thousand_tasks(
    api_as, django_assert_max_num_queries, susy
):
    api = api_as("production_manager")
    for n in (10, 1000):
        request = ProductionRequestFactory(group=susy)
        make_tasks(n, request=request, status="running")
        with django_assert_max_num_queries(8):
            response = api.post(
                "/api/tasks/actions/", {"action": "pause", "filter": {"request": request.pk}}, format="json"
            )
        assert response.status_code == 202 and response.json()["total"] == n


def test_the_task_list_page_has_a_page_of_rows_and_constant_queries(client_as, django_assert_max_num_queries, susy):
    client = client_as("production_manager")
    make_tasks(120, request=ProductionRequestFactory(group=susy), status="running")
    with django_assert_max_num_queries(8):
        response = client.get(reverse("task-list"), {"status": "active", "page_size": 50})
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count('name="task_ids"') == 50
    assert "Select all 120 matching this filter" in body
    assert 'class="bar"' in body and "ordering=priority" in body


def test_the_task_list_sorts_on_the_server(client_as, susy):
    request = ProductionRequestFactory(group=susy)
    low, high = make_tasks(1, request=request, priority=100)[0], make_tasks(1, request=request, priority=900)[0]
    body = client_as("shifter").get(reverse("task-list"), {"ordering": "-priority"}).content.decode()
    assert body.index(f">{high.pk}<") < body.index(f">{low.pk}<")
    assert 'name="task_ids"' not in body  # shifters read, they have nothing to tick


def test_a_bad_filter_on_the_list_page_is_a_400_naming_it(client_as):
    response = client_as("production_manager").get(reverse("task-list"), {"priority_min": "lots"})
    assert response.status_code == 400 and b"priority_min" in response.content


def test_select_all_on_the_confirmation_page_counts_the_filter_by_status(client_as, susy):
    request = ProductionRequestFactory(group=susy)
    make_tasks(8, request=request, status="running")
    make_tasks(2, request=request, status="done")
    client = client_as("production_manager")
    form = {"action": "abort", "select_all": "1", "request": request.pk, "name": ""}
    body = client.get(reverse("task-action-confirm"), form).content.decode()
    assert "10 selected: 8 will be aborted; 2 are already final and will be skipped" in body
    response = client.post(reverse("task-action-confirm"), {**form, "comment": "wrong cache"})
    op = Operation.objects.get()
    assert response.status_code == 302
    assert (op.total, op.comment, op.selection["filter"]) == (10, "wrong cache", {"request": [str(request.pk)]})


def test_a_bad_parameter_on_the_confirmation_page_is_shown_and_nothing_starts(client_as, susy_tasks):
    client = client_as("group_manager")
    form = {"action": "change_priority", "task_ids": [t.pk for t in susy_tasks], "priority": "600"}
    response = client.post(reverse("task-action-confirm"), form)
    assert response.status_code == 400 and b"params.priority" in response.content and b"570" in response.content
    assert not Operation.objects.exists()


def test_nothing_ticked_is_a_400_that_says_what_to_do(client_as, susy_tasks):
    response = client_as("production_manager").get(reverse("task-action-confirm"), {"action": "abort"})
    assert response.status_code == 400 and b"tick some tasks" in response.content


def test_the_operation_page_polls_only_while_the_operation_runs(client_as, susy_tasks):
    client = client_as("production_manager")
    client.post(reverse("task-action-confirm"), {"action": "pause", "task_ids": [t.pk for t in susy_tasks]})
    op = Operation.objects.get()
    page = client.get(op.get_absolute_url()).content.decode()
    assert 'hx-trigger="every 1s"' in page and reverse("operation-progress", args=[op.pk]) in page
    operation_run(operation_id=op.pk)
    fragment = client.get(reverse("operation-progress", args=[op.pk])).content.decode()
    assert "hx-trigger" not in fragment and "100%" in fragment and "3 changed" in fragment


def test_the_operations_history_lists_who_did_what_and_why(client_as, susy_tasks, django_assert_max_num_queries):
    client = client_as("production_manager")
    for _ in range(3):
        client.post(
            reverse("task-action-confirm"),
            {"action": "pause", "task_ids": [t.pk for t in susy_tasks], "comment": "site downtime"},
        )
    with django_assert_max_num_queries(8):
        body = client.get(reverse("operation-list")).content.decode()
    assert body.count("site downtime") == 3 and "production-manager" in body


def test_task_ids_in_forms_and_links_are_plain_numbers_whatever_their_size(client_as, susy):
    # "12,345" in a tick box would select nothing (or fail) once ids pass a thousand.
    task = make_tasks(1, request=ProductionRequestFactory(group=susy), status="running")[0]
    type(task).objects.filter(pk=task.pk).update(id=12345)
    client = client_as("production_manager")
    page = client.get(reverse("task-list")).content.decode()
    assert 'value="12345"' in page
    assert "12,345" not in page.replace(">12,345<", "")  # shown to people with separators is fine, not in values
    confirm = client.get(reverse("task-action-confirm"), {"action": "pause", "task_ids": [12345]})
    assert confirm.status_code == 200, confirm.content
    assert 'value="12345"' in confirm.content.decode()
