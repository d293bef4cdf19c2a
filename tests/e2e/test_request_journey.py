"""A group manager asks for derivations in the browser; a production manager approves; the tasks appear."""

import pytest

from deft.demo import seed_demo
from requests_app.models import ProductionRequest
from tasks.models import ProductionTask


@pytest.fixture
def eager_registration():
    """The live server runs in this process: let the approval's registration run at once, in-process."""
    from deft.celery import app

    was = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = was


def test_susy_manager_requests_derivations_and_prodmgr_approves(
    transactional_db, login, live_server, eager_registration
):
    seed_demo(datasets=16, password="deft-demo")
    page = login("susy-manager")

    page.goto(f"{live_server.url}/catalog/datasets/")
    page.get_by_label("Name").fill("mc14_8TeV.*.AOD.*")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**name=mc14_8TeV*")
    ticks = page.locator("input[name=dataset]")
    for i in range(3):
        ticks.nth(i).check()
    page.get_by_role("button", name="Add ticked").click()

    page.wait_for_url("**/requests/new/**")
    page.get_by_label("Group").select_option(label="PHYS-SUSY")
    page.get_by_label("Description").fill("SUSY 1-lepton derivations")
    page.get_by_label("p-tag").select_option(index=1)
    page.get_by_label("DAOD_SUSY1").check()
    page.get_by_label("DAOD_SUSY2").check()
    page.get_by_role("button", name="Save draft and preview").click()

    page.wait_for_url("**/preview/")
    totals = page.locator("#preview-totals")
    assert "Tasks to be created" in totals.inner_text()
    assert page.locator("#preview-tasks tbody tr").count() == 6
    page.get_by_role("button", name="Send").click()
    request = ProductionRequest.objects.get()
    assert request.status == "waiting"

    page.get_by_role("button", name="Log out").click()
    page = login("prodmgr")
    page.goto(f"{live_server.url}/requests/{request.pk}/")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(f"**/requests/{request.pk}/")

    page.reload()
    assert page.locator(".fields").get_by_text("working").is_visible()
    rows = page.locator("#tasks tbody tr")
    assert rows.count() == 6
    assert "DAOD_SUSY1" in rows.first.inner_text()
    assert ProductionTask.objects.filter(request=request, status="registered").count() == 6
    assert "approve" in page.locator("#timeline").inner_text()
