"""A shifter watches a request run on the simulated grid: the progress rises on the open page, a task whose merge
failed says so, and its failed merge job leads to the error."""

import re

from playwright.sync_api import expect

from catalog.models import Site
from monitoring import rollups
from monitoring.models import Dimension, Rollup
from requests_app.models import PTag
from tasks.engine.tick import tick
from tasks.errors.registry import seed_rows
from tasks.models import ErrorCode, Job, ProductionTask
from tests.tasks.world import demo_world, request_tasks, run_until_ended


def shown_progress() -> str:
    """The overall progress as the page prints it, from the rollup the dashboard reads."""
    row = Rollup.objects.get(dimension=Dimension.ALL, key="")
    return f"{100 * row.progress:.1f} %"


def test_shifter_sees_progress_rise_and_follows_a_failed_merge_to_its_error(transactional_db, login, settings):
    settings.DEFT_SIM_TIME_FACTOR = 1e9  # a job started at one tick ends at the next
    settings.DEFT_SIM_FAILURE_RATE = 0.0  # no random failure: the only one is the merge forced below
    settings.DEFT_SIM_SEED = 42
    group = demo_world(datasets=4)
    # Transactional tests flush the tables, and with them the registry the migration seeded.
    ErrorCode.objects.bulk_create([ErrorCode(**row) for row in seed_rows()], ignore_conflicts=True)
    # The simulated grid fails every merge of DAOD_SUSY2 (stage-out); its deriv jobs finish as usual.
    ptag = PTag.objects.get(name="p1872")
    ptag.format_params["DAOD_SUSY2"]["sim_failure"] = "merge"
    ptag.save()
    Site.objects.update(slots=1)  # jobs wait for a slot at their data's site: tasks end one after another
    _request, tasks = request_tasks(group, count=4, max_attempts=2)  # a merge failing twice fails its task
    bad = tasks[-1]
    ProductionTask.objects.filter(pk=bad.pk).update(formats=["DAOD_SUSY2"])
    bad.formats = ["DAOD_SUSY2"]
    rollups.on_tasks_created(tasks)

    page = login("shifter")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Monitoring").click()
    progress = page.get_by_test_id("progress")
    expect(progress).to_have_text("0.0 %")

    # The grid runs while the page is open: it polls every 5 s, nobody reloads it.
    while Rollup.objects.get(dimension=Dimension.ALL, key="").events_done == 0:
        tick()
    first = shown_progress()
    expect(progress).to_have_text(first, timeout=20_000)
    run_until_ended(max_ticks=100)
    last = shown_progress()
    assert float(last.rstrip(" %")) > float(first.rstrip(" %")) > 0
    expect(progress).to_have_text(last, timeout=20_000)

    # The group's task list leads to the task whose derivation finished but whose merge failed.
    page.locator('table[data-dimension="group"]').get_by_role("link", name="PHYS-SUSY").click()
    page.get_by_role("link", name=str(bad.pk), exact=True).click()
    expect(page.get_by_test_id("step-headline")).to_have_text("deriv finished, merge failed")

    failed_merge = Job.objects.filter(task=bad, job_type="merge", status="failed").latest("pk")
    page.get_by_role("link", name=f"merge job {failed_merge.pk}").first.click()
    expect(page).to_have_url(re.compile(rf"/tasks/jobs/{failed_merge.pk}/$"))
    error = page.get_by_test_id("job-error")
    expect(error).to_contain_text("pilot:1137")
    expect(error).to_contain_text("stage-out")
