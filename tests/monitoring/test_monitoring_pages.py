"""What a shifter sees on the monitoring, request, task, job and sites pages, and what bad filters get."""

import pytest
from django.contrib.contenttypes.models import ContentType
from rest_framework.test import APIClient

from catalog.models import TokenType
from deft.models import AuditEvent
from tests.factories import StorageEndpointFactory
from tests.monitoring.production import small_production


@pytest.fixture
def production(db, susy, top):
    return small_production(susy, top)


@pytest.fixture
def shifter_client(client, shifter):
    client.force_login(shifter)
    return client


@pytest.fixture
def shifter_api(shifter):
    api = APIClient()
    api.force_authenticate(shifter)
    return api


def test_the_summary_api_answers_per_group(production, shifter_api):
    response = shifter_api.get("/api/summary/", {"group": "PHYS-SUSY"})
    assert response.status_code == 200
    body = response.json()
    assert body["filters"] == {"group": "PHYS-SUSY"}
    assert body["tasks"] == {"done": 1, "running": 1}
    assert body["events_done"] == 4000  # the failed merge adds nothing
    assert body["tasks_url"] == "/tasks/?group=PHYS-SUSY"
    assert {r["key"] for r in body["breakdowns"]["format"]} == {"DAOD_SUSY1", "DAOD_SUSY2"}


@pytest.mark.parametrize(
    "params, field",
    [
        ({"group": "PHYS-NOPE"}, "group"),
        ({"group": "PHYS SUSY; drop"}, "group"),
        ({"request": "abc"}, "request"),
        ({"request": "999999"}, "request"),
        ({"ptag": "p0000"}, "ptag"),
        ({"format": "DAOD_NOPE"}, "format"),
        ({"project": "mc99_13TeV"}, "project"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_filters_get_a_400_naming_the_filter(production, shifter_api, shifter_client, params, field):
    response = shifter_api.get("/api/summary/", params)
    assert response.status_code == 400
    assert field in response.json()["detail"]
    page = shifter_client.get("/monitoring/", params)
    assert page.status_code == 400
    assert field in page.content.decode()
    assert shifter_client.get("/monitoring/series/", params).status_code == 400


def test_people_without_a_role_cannot_read_the_dashboards(db, api_as, client, user_as):
    assert api_as("anonymous").get("/api/summary/").status_code in (401, 403)
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="nobody"))
    assert client.get("/monitoring/").status_code == 403


def test_the_overview_shows_progress_with_links_to_the_task_list(
    production, shifter_client, django_assert_max_num_queries
):
    with django_assert_max_num_queries(20):
        html = shifter_client.get("/monitoring/").content.decode()
    assert "Production progress" in html
    assert 'href="/tasks/?group=PHYS-SUSY"' in html
    assert 'href="/tasks/?format=DAOD_SUSY2"' in html
    assert 'href="/tasks/?group=PHYS-TOP&status=running"' in html
    assert 'hx-trigger="every 5s, deft:visible from:body"' in html


def test_the_overview_fragment_polls_itself(production, shifter_client):
    html = shifter_client.get("/monitoring/?group=PHYS-TOP", HTTP_HX_REQUEST="true").content.decode()
    assert html.lstrip().startswith('<div id="summary"') or 'id="summary"' in html[:400]
    assert "<html" not in html


def test_the_charts_read_the_samples(production, shifter_client):
    from monitoring.samples import samples_write

    samples_write()
    data = shifter_client.get("/monitoring/series/", {"group": "PHYS-SUSY"}).json()
    assert data["events_done"] == [4000]
    assert len(data["labels"]) == 1


def test_a_task_with_a_failed_merge_says_so_plainly(production, shifter_client, django_assert_max_num_queries):
    task = production.tasks[1]
    with django_assert_max_num_queries(25):
        html = shifter_client.get(f"/tasks/{task.pk}/").content.decode()
    assert "deriv finished, merge failed" in html
    assert "resource" in html and "1212" in html


def test_a_done_task_shows_its_retry_and_merged_events(production, shifter_client):
    task = production.tasks[0]
    html = shifter_client.get(f"/tasks/{task.pk}/").content.decode()
    assert "deriv finished, merge finished" in html
    assert "Retry history" in html and "1099" in html
    assert "4,000 / 4,000" in html


def test_a_failed_job_shows_its_error_class_and_description(production, shifter_client):
    failed = production.tasks[0].jobs.get(status="failed")
    html = shifter_client.get(f"/tasks/jobs/{failed.pk}/").content.decode()
    assert "pilot:1099" in html and "STAGEINFAILED" in html and "site" in html
    assert "Attempts of this input" in html
    retry = failed.next_attempt
    assert f'href="/tasks/jobs/{retry.pk}/"' in html
    assert "AOD." in html and "200842" in html  # input file and run/lumiblock


def test_the_request_page_shows_progress_per_slice_and_task_and_the_timeline(production, shifter_client, prodmgr):
    req = production.tasks[0].request
    AuditEvent.objects.create(
        actor=prodmgr,
        verb="approve",
        content_type=ContentType.objects.get_for_model(req),
        object_id=req.pk,
        comment="looks good",
    )
    html = shifter_client.get(f"/requests/{req.pk}/").content.decode()
    assert "Per slice" in html and "Per task" in html
    assert "looks good" in html
    assert "1 software" not in html and "1 site" in html and "1 resource" in html


def test_the_sites_page_shows_running_failed_and_disks(production, shifter_client):
    site = production.site
    StorageEndpointFactory(site=site, token_type=TokenType.PRODDISK, used_bytes=3 * 10**12, capacity_bytes=10**13)
    StorageEndpointFactory(
        site=site,
        token_type=TokenType.GROUPDISK,
        name="CERN-PROD_PHYS-SUSY",
        physgroup="phys-susy",
        capacity_bytes=10**13,
        used_bytes=10**12,
    )
    html = shifter_client.get("/monitoring/sites/").content.decode()
    assert "CERN-PROD" in html and "BNL-ATLAS" in html
    assert "3.0\xa0TB of 10.0\xa0TB" in html or "2.7\xa0TB of 9.1\xa0TB" in html
    assert "phys-susy:" in html


def test_a_skimmed_production_is_done_when_its_input_is_merged_though_its_outputs_hold_fewer_events():
    from datetime import timedelta

    from django.utils import timezone

    from monitoring.models import Sample
    from monitoring.summary import Row, with_rates

    now = timezone.now()
    hour_ago = Sample(ts=now - timedelta(hours=1), jobs_failed=0, jobs_finished=0, events_done=0, events_merged=0)

    def row(tasks, merged):
        # A skim keeps 22 % of its input events: its merged outputs hold 220,000 events for 1,000,000 input.
        counters = {"events_total": 1_000_000, "events_merged": merged, "events_done": merged * 22 // 100}
        return with_rates(Row("all", "", "all production", {}, counters, tasks, {}), hour_ago, now)

    ended = row({"done": 20}, 1_000_000)
    assert ended.progress == 1.0 and ended.throughput == 1_000_000 and ended.eta is None
    assert [css for css, _, _ in ended.event_segments] == ["done"]
    halfway = row({"done": 10, "running": 10}, 500_000)
    assert halfway.progress == 0.5 and halfway.eta == now + timedelta(hours=1)
