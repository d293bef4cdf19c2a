"""The request pages: search and tick, the form, the preview, the import page, the request's timeline."""

from django.core.files.uploadedfile import SimpleUploadedFile

from requests_app import services
from requests_app.models import ProductionRequest
from tests.factories import DatasetFactory, PTagFactory
from tests.requests_app.conftest import listfile_for


def test_search_shows_tick_boxes_to_group_managers(client, susy_manager, aods, django_assert_max_num_queries):
    client.force_login(susy_manager)
    with django_assert_max_num_queries(10):
        response = client.get("/catalog/datasets/", {"name": "mc14_8TeV.*.AOD.*"})
    body = response.content.decode()
    assert body.count('name="dataset"') == 3
    assert "Add all 3 matching" in body


def test_readers_see_no_tick_boxes(client, shifter, aods):
    client.force_login(shifter)
    assert 'name="dataset"' not in client.get("/catalog/datasets/").content.decode()


def test_a_container_expands_to_its_datasets(client, shifter, aods):
    container = DatasetFactory(number=117099, is_container=True)
    container.members.add(*aods[:2])
    client.force_login(shifter)
    response = client.get("/catalog/datasets/", {"in_container": container.pk})
    assert [obj.pk for obj, _ in response.context["rows"]] == [aods[0].pk, aods[1].pk]
    api = client.get("/api/datasets/", {"in_container": container.pk}).json()
    assert api["count"] == 2


def test_ticked_datasets_fill_the_new_request_form(client, susy_manager, aods):
    client.force_login(susy_manager)
    response = client.get("/requests/new/", {"dataset": [aods[0].pk, aods[2].pk], "ticked": "1"})
    assert response.context["form"].initial["datasets"].splitlines() == [aods[0].name, aods[2].name]


def test_add_all_matching_takes_the_whole_search(client, susy_manager, aods):
    client.force_login(susy_manager)
    response = client.get("/requests/new/", {"all": "1", "match": "name=mc14_8TeV.*.AOD.*"})
    assert len(response.context["form"].initial["datasets"].splitlines()) == 3


def test_datasets_can_be_added_to_a_draft(client, susy_manager, draft, aods):
    extra = DatasetFactory(number=117060)
    client.force_login(susy_manager)
    response = client.get("/requests/new/", {"dataset": [extra.pk], "into": draft.pk}, follow=True)
    assert response.context["form"].initial["datasets"].splitlines() == [*(d.name for d in aods), extra.name]


def test_saving_the_form_makes_a_draft_and_shows_its_preview(client, susy_manager, susy, ptag, aods):
    client.force_login(susy_manager)
    form = {
        "group": susy.pk,
        "description": "SUSY 1-lepton",
        "ptag": ptag.pk,
        "formats": ["DAOD_SUSY1", "DAOD_TOPQ1"],
        "skim": "on",
        "mode": "train",
        "events_per_job": "",
        "priority": 560,
        "datasets": "\n".join(d.name for d in aods),
    }
    response = client.post("/requests/new/", form, follow=True)
    request = ProductionRequest.objects.get()
    assert response.redirect_chain[-1][0] == f"/requests/{request.pk}/preview/"
    assert response.context["preview"]["totals"]["tasks"] == 3  # a train: one task per dataset
    assert request.destination == "" and request.effective_destination == susy.destination
    slices = {
        (tuple(f), train, epj) for f, train, epj in request.slices.values_list("formats", "train", "events_per_job")
    }
    assert slices == {(("DAOD_SUSY1", "DAOD_TOPQ1"), True, None)}


def test_formats_outside_the_ptag_are_refused(client, susy_manager, susy, ptag, aods):
    client.force_login(susy_manager)
    form = {"group": susy.pk, "description": "x", "ptag": ptag.pk, "formats": ["DAOD_SUSY1"], "mode": "single",
            "priority": 560, "datasets": aods[0].name}  # fmt: skip
    ptag.formats = ["DAOD_TOPQ1"]
    ptag.save()
    PTagFactory(name="p2011", formats=["DAOD_SUSY1"])  # DAOD_SUSY1 exists, just not in p1872
    response = client.post("/requests/new/", form)
    assert response.status_code == 400
    assert "DAOD_SUSY1 not written by p1872" in response.content.decode()
    assert not ProductionRequest.objects.exists()


def test_editing_a_waiting_request_puts_it_back_to_draft(client, susy_manager, waiting, ptag, aods):
    client.force_login(susy_manager)
    form = {"group": waiting.group_id, "description": "fewer", "ptag": ptag.pk, "formats": ["DAOD_SUSY1"],
            "mode": "single", "priority": 550, "datasets": aods[0].name}  # fmt: skip
    client.post(f"/requests/{waiting.pk}/edit/", form)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.description, waiting.priority, waiting.slices.count()) == ("draft", "fewer", 550, 1)
    assert [e.verb for e in services.history(waiting)] == ["create", "send", "edit"]


def test_the_request_page_shows_its_timeline_and_buttons(client, prodmgr, waiting, django_assert_max_num_queries):
    client.force_login(prodmgr)
    with django_assert_max_num_queries(20):
        response = client.get(f"/requests/{waiting.pk}/")
    body = response.content.decode()
    assert "<strong>create</strong> by susy-manager" in body or "<strong>create</strong> by group-manager" in body
    assert "<strong>send</strong>" in body
    assert ">Approve</button>" in body and ">Hold</button>" in body and ">Send</button>" not in body


def test_the_preview_page_lists_problems(client, shifter, draft, aods):
    aods[0].file_set.all().delete()
    client.force_login(shifter)
    response = client.get(f"/requests/{draft.pk}/preview/")
    assert f"slice 1: dataset {aods[0].name} is empty" in response.content.decode()


def test_importing_a_file_on_the_page(client, susy_manager, ptag, aods):
    client.force_login(susy_manager)
    upload = SimpleUploadedFile("r.txt", listfile_for(aods).encode())
    response = client.post("/requests/import/", {"file": upload})
    request = ProductionRequest.objects.get()
    assert response.url == f"/requests/{request.pk}/preview/"


def test_a_bad_file_on_the_page_lists_every_line(client, susy_manager, ptag, aods):
    client.force_login(susy_manager)
    response = client.post("/requests/import/", {"text": "group:PHYS-SUSY\nbogus\ntag:p1872\nformats:DAOD_SUSY1\n"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "line 2: expected" in body and "no &#x27;ds&#x27; line" in body
    assert not ProductionRequest.objects.exists()


def test_tick_boxes_carry_plain_ids_even_past_a_thousand(client, susy_manager):
    DatasetFactory(id=12345, number=117077)
    client.force_login(susy_manager)
    body = client.get("/catalog/datasets/").content.decode()
    assert 'value="12345"' in body  # not "12,345": the page localizes numbers, the form must not
