"""The read API: every endpoint answers lists with count/next/previous/results, filters, and the schema."""

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.factories import (
    DatasetFactory,
    ErrorCodeFactory,
    JobFactory,
    ProductionRequestFactory,
    ProductionTaskFactory,
    PTagFactory,
    StorageEndpointFactory,
)

ENDPOINTS = [
    "groups",
    "sites",
    "endpoints",
    "datasets",
    "ptags",
    "requests",
    "tasks",
    "jobs",
    "operations",
    "error-codes",
]


@pytest.fixture
def shifter_api(api_as):
    return api_as("shifter")


@pytest.mark.parametrize("name", ENDPOINTS)
def test_every_list_is_paginated(shifter_api, name):
    body = shifter_api.get(f"/api/{name}/").json()
    assert set(body) == {"count", "next", "previous", "results"}


@pytest.mark.parametrize("name", ENDPOINTS)
def test_anonymous_gets_401(db, name):
    assert APIClient().get(f"/api/{name}/").status_code in (401, 403)


def test_a_user_with_no_role_sees_nothing(db, api_as, user_as):
    DatasetFactory()
    api = APIClient()
    from tests.factories import UserFactory

    api.force_authenticate(UserFactory(username="nobody"))
    assert api.get("/api/datasets/").json()["count"] == 0


def test_dataset_search_by_wildcard_pattern_and_type(shifter_api):
    DatasetFactory(number=117050, physics_short="PowhegPythia_P2011C_ttbar")
    DatasetFactory(number=117051, data_type="ESD")
    DatasetFactory(project="data12_8TeV", number=200842, physics_short="physics_Muons", tags="r4065_p1278")
    names = lambda q: [d["name"] for d in shifter_api.get(f"/api/datasets/?{q}").json()["results"]]  # noqa: E731
    assert names("name=mc14_8TeV.*.AOD.*") == [
        "mc14_8TeV.117050.PowhegPythia_P2011C_ttbar.merge.AOD.e1727_s1933_s1911_r5591_r5625"
    ]
    assert names("name=data12_8TeV.*physics_Muons*") == ["data12_8TeV.200842.physics_Muons.merge.AOD.r4065_p1278"]
    assert len(names("project=mc14_8TeV")) == 2
    assert len(names("type=ESD")) == 1


def test_a_percent_or_underscore_in_a_pattern_is_literal(shifter_api):
    DatasetFactory(physics_short="ttbar")
    assert shifter_api.get("/api/datasets/?name=*%25*").json()["count"] == 0


def test_page_size_is_honoured_up_to_1000(shifter_api):
    for _ in range(3):
        DatasetFactory()
    body = shifter_api.get("/api/datasets/?page_size=2").json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]
    assert shifter_api.get("/api/datasets/?page_size=5000").status_code == 200


def test_ptag_formats_are_a_json_list(shifter_api):
    PTagFactory(name="p1872", formats=["DAOD_SUSY1", "DAOD_TOPQ1"])
    result = shifter_api.get("/api/ptags/?name=p1872").json()["results"][0]
    assert result["formats"] == ["DAOD_SUSY1", "DAOD_TOPQ1"]


def test_tasks_filter_by_request_group_and_status(shifter_api, susy, top):
    request = ProductionRequestFactory(group=susy)
    mine = ProductionTaskFactory(request=request, status="running")
    ProductionTaskFactory(request=request, status="done")
    ProductionTaskFactory(request=ProductionRequestFactory(group=top), status="running")
    ids = lambda q: [t["id"] for t in shifter_api.get(f"/api/tasks/?{q}").json()["results"]]  # noqa: E731
    assert ids(f"request={request.pk}&status=running") == [mine.pk]
    assert len(ids("group=PHYS-SUSY")) == 2
    assert len(ids("status=active")) == 2


def test_an_unknown_status_is_a_400_naming_the_field(shifter_api):
    response = shifter_api.get("/api/tasks/?status=sleeping")
    assert response.status_code == 400
    assert "status" in response.json()


def test_jobs_show_their_step(shifter_api):
    JobFactory(job_type="merge")
    assert shifter_api.get("/api/jobs/").json()["results"][0]["step"] == "merge"


def test_error_codes_list_the_registry_fields(shifter_api):
    ErrorCodeFactory(source="pilot", code=99999, name="X", error_class="site", retry_action="retry_elsewhere")
    row = shifter_api.get("/api/error-codes/?source=pilot&code=99999").json()["results"][0]
    assert {"source", "code", "name", "description", "error_class", "retry_action"} <= set(row)


def test_error_registry_is_seeded_with_the_real_codes(shifter_api):
    row = shifter_api.get("/api/error-codes/?source=pilot&code=1099").json()["results"][0]
    assert (row["name"], row["error_class"]) == ("STAGEINFAILED", "site")
    assert shifter_api.get("/api/error-codes/?source=trf&code=65").json()["results"][0]["error_class"] == "software"


def test_endpoints_show_free_space(shifter_api):
    StorageEndpointFactory(capacity_bytes=100, used_bytes=40)
    assert shifter_api.get("/api/endpoints/").json()["results"][0]["free_bytes"] == 60


def test_token_authentication(db, user_as):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=user_as("shifter"))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/groups/").status_code == 200


def test_schema_is_a_valid_openapi_3_document(shifter_api, tmp_path):
    response = shifter_api.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert "/api/tasks/" in schema["paths"]
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_api_docs_page_is_served(shifter_api):
    assert shifter_api.get("/api/docs/").status_code == 200
