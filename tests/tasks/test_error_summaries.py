"""Error summaries equal a recount from the job rows; the window is bounded and bad values are a 400."""

import random
from collections import Counter
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tasks.models import Job
from tests.factories import JobFactory, ProductionTaskFactory, PTagFactory, SiteFactory

CODES = [("trf", 2004, "software"), ("trf", 2001, "site"), ("pilot", 1212, "resource"), ("executor", 7, "service")]


@pytest.fixture
def grid(susy, top):
    """Failed and finished jobs across 3 sites, 4 codes, 2 groups; some ended outside a 24 h window."""
    rng = random.Random(5)
    now = timezone.now()
    sites = [SiteFactory(name=n) for n in ("CERN-PROD", "BNL-ATLAS", "TOKYO-LCG2")]
    tasks = [
        ProductionTaskFactory(request__group=susy, ptag=PTagFactory(name="p5000")),
        ProductionTaskFactory(request__group=top),
    ]
    for i in range(120):
        task, site = rng.choice(tasks), rng.choice(sites + [None])
        ended = now - timedelta(hours=rng.choice([1, 5, 23, 30, 100]))
        if i % 3 == 0:
            JobFactory(task=task, site=site, status="finished", ended_at=ended)
            continue
        source, code, klass = rng.choice(CODES)
        diag = f"diagnostic {i}"
        JobFactory(
            task=task,
            site=site,
            status="failed",
            ended_at=ended,
            error_source=source,
            error_code=code,
            error_class=klass,
            error_diag=diag,
        )
    return {"now": now, "tasks": tasks, "sites": sites}


def recount_cells(jobs):
    return Counter((j.error_source, j.error_code, j.site.name if j.site else "—") for j in jobs)


def test_the_heat_map_equals_a_recount_of_failed_jobs_in_the_window(api_as, grid):
    body = api_as("shifter").get("/api/errors/summary/?since=24h").json()
    start = grid["now"] - timedelta(hours=24)
    failed = [j for j in Job.objects.select_related("site") if j.status == "failed" and j.ended_at >= start]
    got = Counter({(c["source"], c["code"], c["site"]): c["count"] for c in body["cells"]})
    assert got == recount_cells(failed) and body["total_failed"] == len(failed)
    assert sum(c["total"] for c in body["codes"]) == len(failed)


def test_site_failure_rates_equal_a_recount(api_as, grid):
    body = api_as("shifter").get("/api/errors/summary/?since=7d").json()
    start = grid["now"] - timedelta(days=7)
    ended = [j for j in Job.objects.select_related("site") if j.ended_at and j.ended_at >= start]
    for rate in body["site_rates"]:
        at = [j for j in ended if (j.site.name if j.site else "—") == rate["site"]]
        failed = sum(j.status == "failed" for j in at)
        assert (rate["failed"], rate["ended"]) == (failed, len(at))
        assert rate["failure_rate"] == pytest.approx(failed / len(at), abs=1e-4)
    rates = [r["failure_rate"] for r in body["site_rates"]]
    assert rates == sorted(rates, reverse=True)  # the worst site first


@pytest.mark.parametrize(
    "params, keep",
    [
        ("error_class=software", lambda j: j.error_class == "software"),
        ("group=PHYS-TOP", lambda j: j.task.group.name == "PHYS-TOP"),
        ("ptag=p5000", lambda j: j.task.ptag.name == "p5000"),
    ],
)
def test_filters_narrow_the_heat_map(api_as, grid, params, keep):
    body = api_as("shifter").get(f"/api/errors/summary/?since=7d&{params}").json()
    start = grid["now"] - timedelta(days=7)
    jobs = Job.objects.select_related("site", "task__group", "task__ptag").filter(status="failed", ended_at__gte=start)
    expected = recount_cells([j for j in jobs if keep(j)])
    assert Counter({(c["source"], c["code"], c["site"]): c["count"] for c in body["cells"]}) == expected


def test_the_request_filter_narrows_the_heat_map(api_as, grid):
    task = grid["tasks"][0]
    body = api_as("shifter").get(f"/api/errors/summary/?since=7d&request={task.request_id}").json()
    assert (
        body["total_failed"]
        == Job.objects.filter(
            task__request=task.request_id, status="failed", ended_at__gte=grid["now"] - timedelta(days=7)
        ).count()
    )


def test_each_cell_links_to_exactly_its_failed_jobs(api_as, client_as, grid):
    body = api_as("shifter").get("/api/errors/summary/?since=24h").json()
    cell = max((c for c in body["cells"] if c["site"] != "—"), key=lambda c: c["count"])
    listed = api_as("member").get(cell["jobs_api_url"]).json()
    assert listed["count"] == cell["count"]
    page = client_as("production_manager").get(cell["jobs_url"])
    assert page.status_code == 200 and f"{cell['count']} found" in page.content.decode()


@pytest.mark.parametrize("since", ["abc", "0h", "90d", "24", "-1h", "1w"])
def test_a_bad_window_is_a_400_naming_since(api_as, client_as, db, since):
    response = api_as("shifter").get(f"/api/errors/summary/?since={since}")
    assert response.status_code == 400 and "since" in response.json()
    page = client_as("production_manager").get(reverse("errors"), {"since": since})
    assert page.status_code == 400 and "since" in page.content.decode()


def test_a_bad_class_or_request_is_a_400(api_as, db):
    api = api_as("shifter")
    assert api.get("/api/errors/summary/?error_class=cosmic").status_code == 400
    assert api.get("/api/errors/summary/?request=abc").status_code == 400


def test_the_errors_page_shows_the_heat_map_and_site_rates(client_as, grid, django_assert_max_num_queries):
    client = client_as("shifter")
    with django_assert_max_num_queries(12):
        page = client.get(reverse("errors"), {"since": "7d"})
    html = page.content.decode()
    assert page.status_code == 200 and "heat-cell" in html and "Failure rate by site" in html
    assert reverse("job-list") in html and reverse("errorcode-list") in html
    assert "CERN-PROD" in html and "trf:2004" in html


def test_the_errors_nav_link_opens_the_errors_page(client_as, db):
    html = client_as("shifter").get(reverse("home")).content.decode()
    assert f'href="{reverse("errors")}"' in html


def test_the_task_summary_equals_a_recount(api_as, grid):
    task = grid["tasks"][0]
    body = api_as("member").get(f"/api/tasks/{task.pk}/errors/").json()
    failed = list(task.jobs.filter(status="failed").select_related("site"))
    assert body["failed"] == len(failed)
    assert {(e["source"], e["code"]): e["count"] for e in body["by_code"]} == Counter(
        (j.error_source, j.error_code) for j in failed
    )
    assert {c["error_class"]: c["count"] for c in body["by_class"]} == Counter(j.error_class for j in failed)
    for entry in body["by_code"]:
        of_code = [j for j in failed if (j.error_source, j.error_code) == (entry["source"], entry["code"])]
        sites = Counter(j.site.name if j.site else "—" for j in of_code)
        assert {s["site"]: s["count"] for s in entry["sites"]} == sites
        assert entry["example"] in {j.error_diag for j in of_code}


def test_the_task_page_shows_its_error_summary(client_as, grid, django_assert_max_num_queries):
    task = grid["tasks"][0]
    client = client_as("shifter")
    with django_assert_max_num_queries(20):  # the whole task page: progress, jobs, datasets, history, errors
        html = client.get(task.get_absolute_url()).content.decode()
    assert "error-summary" in html and "TRF_PAYLOAD_SEGFAULT" in html and "diagnostic" in html


def test_the_job_list_page_holds_one_page_of_rows(client_as, grid, django_assert_max_num_queries):
    client = client_as("shifter")
    with django_assert_max_num_queries(8):
        page = client.get(reverse("job-list"), {"status": "failed", "page_size": 50})
    assert page.status_code == 200


def test_anonymous_people_get_no_summary(client, db):
    assert client.get(reverse("errors")).status_code == 302
    from rest_framework.test import APIClient

    assert APIClient().get("/api/errors/summary/").status_code in (401, 403)
