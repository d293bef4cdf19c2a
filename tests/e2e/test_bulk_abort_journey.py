"""A production manager aborts the 2,000 tasks of a request in one go and watches it finish."""

import re

import pytest
from playwright.sync_api import expect

from deft.models import Role
from tasks.models import Operation, ProductionTask
from tests.factories import MembershipFactory, ProductionRequestFactory, UserFactory, make_tasks


@pytest.fixture
def eager_celery():
    """The operation runs in the web process as soon as it is queued (no worker in a browser test)."""
    from deft.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def test_prodmgr_aborts_a_requests_tasks_and_watches_it_finish(transactional_db, eager_celery, login, live_server):
    prodmgr = UserFactory(username="prodmgr")
    MembershipFactory(user=prodmgr, group=None, role=Role.PRODUCTION_MANAGER)
    request = ProductionRequestFactory()
    make_tasks(2000, request=request, status="running")
    others = make_tasks(30, status="running")

    page = login("prodmgr")
    page.goto(f"{live_server.url}/tasks/")
    page.locator("form.filters input[name=request]").fill(str(request.pk))
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("2,000 found")).to_be_visible()

    page.get_by_label("Select all 2,000 matching this filter").check()
    page.get_by_label("Action").select_option("abort")
    page.get_by_role("button", name="Continue…").click()
    expect(page.locator("#selection-summary")).to_contain_text("2,000 selected: 2,000 will be aborted")

    page.get_by_label(re.compile("Comment")).fill("wrong p-tag, resubmitting with p1873")
    page.get_by_role("button", name="Abort 2,000 tasks").click()
    expect(page.locator("#operation-percent")).to_have_text("100%", timeout=60_000)
    expect(page.locator("#operation-status")).to_have_text("done")

    page.goto(f"{live_server.url}/tasks/?request={request.pk}&status=aborted")
    expect(page.get_by_text("2,000 found")).to_be_visible()
    assert ProductionTask.objects.filter(pk__in=[t.pk for t in others], status="running").count() == 30

    page.get_by_role("link", name="Operations history").click()
    op = Operation.objects.get()
    row = page.locator("tr", has_text="wrong p-tag")
    expect(row).to_contain_text("abort")
    expect(row).to_contain_text("2,000")
    row.get_by_role("link", name=str(op.pk), exact=True).click()
    expect(page.get_by_role("heading", name=f"Operation {op.pk}: abort")).to_be_visible()
