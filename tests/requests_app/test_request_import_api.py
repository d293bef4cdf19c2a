"""List files through the API: three ways to send one, every error with its line, nothing written on error."""

import pytest

from requests_app.models import ProductionRequest, Slice
from tests.requests_app.conftest import listfile_for

URL = "/api/requests/import/"


def row_counts():
    return ProductionRequest.objects.count(), Slice.objects.count()


def test_import_as_text_plain_body_makes_a_draft(api_as, ptag, aods):
    api = api_as("group_manager")
    response = api.post(URL, data=listfile_for(aods), content_type="text/plain")
    assert response.status_code == 201, response.content
    request = ProductionRequest.objects.get(pk=response.json()["id"])
    assert request.status == "draft"
    assert request.group.name == "PHYS-SUSY"
    assert [s.dataset_name for s in request.slices.all()] == [d.name for d in aods]
    assert request.slices.first().formats == ["DAOD_SUSY1", "DAOD_SUSY2"]


def test_import_as_multipart_file(api_as, ptag, aods):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("request.txt", listfile_for(aods).encode(), content_type="text/plain")
    response = api_as("group_manager").post(URL, data={"file": upload}, format="multipart")
    assert response.status_code == 201, response.content
    assert ProductionRequest.objects.get(pk=response.json()["id"]).slices.count() == 3


def test_import_as_json(api_as, ptag, aods):
    response = api_as("group_manager").post(URL, data={"listfile": listfile_for(aods)}, format="json")
    assert response.status_code == 201, response.content


def test_bad_file_gets_every_error_with_its_line_and_writes_nothing(api_as, ptag, aods):
    text = "group:PHYS-NOPE\ntag:p9999\nformats:DAOD_SUSY1.DAOD_NOPE\nds:mc14_8TeV.999999.X.merge.AOD.e1_r2\n"
    before = row_counts()
    response = api_as("group_manager").post(URL, data=text, content_type="text/plain")
    assert response.status_code == 400
    lines = {p["line"] for p in response.json()["problems"]}
    assert lines == {1, 2, 4}
    assert row_counts() == before


def test_unknown_dataset_and_format_are_named_with_their_lines(api_as, ptag, aods):
    text = listfile_for([aods[0], "mc14_8TeV.999999.Nope.merge.AOD.e1_r2"], formats="DAOD_SUSY1.DAOD_HIGG2D1")
    response = api_as("group_manager").post(URL, data=text, content_type="text/plain")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert any(e.startswith("line 4:") and "DAOD_HIGG2D1" in e for e in errors), errors
    assert any(e.startswith("line 6:") and "not in the catalog" in e for e in errors), errors


def test_import_export_import_gives_the_same_request(api_as, ptag, aods):
    api = api_as("group_manager")
    text = listfile_for(aods, extra="priority:550\nevents_per_job:5000\ntrain:yes")
    first = ProductionRequest.objects.get(pk=api.post(URL, data=text, content_type="text/plain").json()["id"])
    exported = api.get(f"/api/requests/{first.pk}/listfile/").content.decode()
    second = ProductionRequest.objects.get(pk=api.post(URL, data=exported, content_type="text/plain").json()["id"])

    def shape(r):
        fields = (r.group_id, r.description, r.priority, r.project)
        slices = list(r.slices.values_list("dataset_id", "ptag_id", "formats", "skim", "train", "events_per_job"))
        return fields, slices

    assert shape(first) == shape(second)
    assert exported == api.get(f"/api/requests/{second.pk}/listfile/").content.decode()


@pytest.mark.parametrize("role", ["member", "shifter"])
def test_readers_may_not_import(api_as, ptag, aods, role):
    response = api_as(role).post(URL, data=listfile_for(aods), content_type="text/plain")
    assert response.status_code == 403


def test_other_groups_manager_is_told_on_the_group_line(api_as, ptag, aods):
    response = api_as("other_group_manager").post(URL, data=listfile_for(aods), content_type="text/plain")
    assert response.status_code == 400
    assert response.json()["problems"][0]["line"] == 1


def test_syntax_and_catalog_errors_come_back_together_each_on_its_line(api_as, ptag, aods):
    """A file with a bad line is still checked against the catalog: one answer lists everything to fix."""
    from tests.factories import DatasetFactory, ProductionTaskFactory

    unreplicated = DatasetFactory(number=117060, events=10_000, files=1)
    running = ProductionTaskFactory(input_dataset=aods[1], ptag=ptag, formats=["DAOD_SUSY1"], status="running")
    text = "\n".join(
        [
            "group:PHYS-SUSY",  # 1
            "tag:p1872",  # 2
            "priority:lots",  # 3: syntax
            "formats:DAOD_SUSY1",  # 4
            f"ds:{aods[0].name}",  # 5: fine
            "ds:not a dataset",  # 6: syntax
            "ds:mc14_8TeV.999999.Nope.merge.AOD.e1_r2",  # 7: not in the catalog
            f"ds:{unreplicated.name}",  # 8: no replica
            f"ds:{aods[1].name}",  # 9: duplicates a live task
            "bogus",  # 10: syntax
        ]
    )
    before = row_counts()
    response = api_as("group_manager").post(URL, data=text, content_type="text/plain")
    assert response.status_code == 400
    problems = [(p["line"], p["message"]) for p in response.json()["problems"]]
    lines = [line for line, _ in problems]
    assert lines == sorted(lines) and set(lines) == {3, 6, 7, 8, 9, 10}, problems
    said = dict(problems)
    assert "not in the catalog" in said[7]
    assert "no available replica" in said[8]
    assert f"duplicates live task {running.pk}" in said[9]
    assert row_counts() == before


def test_a_formats_line_the_ptag_does_not_write_is_named_next_to_syntax_errors(api_as, ptag, aods):
    text = listfile_for(aods[:1], formats="DAOD_HIGG2D1", extra="train:maybe")
    response = api_as("group_manager").post(URL, data=text, content_type="text/plain")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert any(e.startswith("line 4:") and "train" in e for e in errors), errors
    assert any(e.startswith("line 5:") and "DAOD_HIGG2D1 not written by p1872" in e for e in errors), errors
