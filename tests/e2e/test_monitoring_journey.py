"""A shifter watches production progress rise, finds a task whose merge failed, and follows its failed job."""

import re

from playwright.sync_api import expect

from deft.demo import seed_demo
from deft.models import PhysicsGroup
from tasks.error_catalog import seed_rows
from tasks.jobstate import jobs_move
from tasks.models import ErrorCode
from tests.monitoring.production import merge, small_production


def test_shifter_sees_progress_rise_and_follows_a_failed_merge_to_its_error(transactional_db, login, live_server):
    seed_demo(datasets=0, password="deft-demo")
    # Transactional tests flush the tables, and with them the registry the migration seeded.
    ErrorCode.objects.bulk_create([ErrorCode(**row) for row in seed_rows()], ignore_conflicts=True)
    prod = small_production(PhysicsGroup.objects.get(name="PHYS-SUSY"), PhysicsGroup.objects.get(name="PHYS-TOP"))
    page = login("shifter")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Monitoring").click()
    progress = page.get_by_test_id("progress")
    expect(progress).to_have_text("20.0 %")  # 4,000 of 20,000 input events merged

    # Production moves on while the page is open: the running task's last job finishes and its outputs merge.
    running = prod.tasks[2]
    jobs_move(job_ids=list(running.jobs.filter(status="running").values_list("pk", flat=True)), move="finish")
    merge(running, prod.site)
    expect(progress).to_have_text("35.0 %", timeout=20_000)  # the page polls every 5 s; nobody reloads it

    # The SUSY group has a task whose derivation finished but whose merge failed.
    page.locator('table[data-dimension="group"]').get_by_role("link", name="PHYS-SUSY").click()
    bad = prod.tasks[1]
    page.get_by_role("link", name=str(bad.pk), exact=True).click()
    expect(page.get_by_test_id("step-headline")).to_have_text("deriv finished, merge failed")

    failed_merge = bad.jobs.get(job_type="merge", status="failed")
    page.get_by_role("link", name=f"merge job {failed_merge.pk}").click()
    error = page.get_by_test_id("job-error")
    expect(error).to_contain_text("pilot:1212 PAYLOADOUTOFMEMORY")
    expect(error).to_contain_text("resource")
    expect(page).to_have_url(re.compile(rf"/tasks/jobs/{failed_merge.pk}/$"))
