"""Who may do what to a request, through the API and the pages: every verb, every role."""

import pytest

from requests_app.models import ProductionRequest
from tests.conftest import ROLES
from tests.factories import ProductionRequestFactory, SliceFactory

WRITERS = {"group_manager", "production_manager"}
PRODMGR = {"production_manager"}
READERS = set(ROLES) - {"anonymous"}
# verb: (status the request is in, status it moves to, roles that may)
VERBS = {
    "send": ("draft", "waiting", WRITERS),
    "approve": ("waiting", "approved", PRODMGR),
    "hold": ("waiting", "hold", PRODMGR),
    "release": ("hold", "waiting", PRODMGR),
    "cancel": ("waiting", "cancelled", PRODMGR),
}
MATRIX = [(verb, role) for verb in VERBS for role in ROLES]


@pytest.fixture
def both_as(user_as, client):
    """An API client and a page client for one user of `role`."""
    from rest_framework.test import APIClient

    def make(role):
        user, api = user_as(role), APIClient()
        if user is not None:
            api.force_authenticate(user)
            client.force_login(user)
        return api, client

    return make


@pytest.fixture
def susy_request(susy):
    def make(status):
        request = ProductionRequestFactory(group=susy, status=status)
        SliceFactory(request=request)
        return request

    return make


@pytest.mark.parametrize("verb, role", MATRIX)
def test_who_may_move_a_request_through_the_api(api_as, susy_request, verb, role):
    source, target, allowed = VERBS[verb]
    request = susy_request(source)
    response = api_as(role).post(f"/api/requests/{request.pk}/{verb}/")
    request.refresh_from_db()
    if role in allowed:
        assert response.status_code in (200, 202), response.content
        assert request.status == target
    else:
        assert response.status_code in (401, 403)
        assert request.status == source


@pytest.mark.parametrize("verb, role", MATRIX)
def test_who_may_move_a_request_through_the_pages(client_as, susy_request, verb, role):
    source, target, allowed = VERBS[verb]
    request = susy_request(source)
    response = client_as(role).post(f"/requests/{request.pk}/{verb}/")
    request.refresh_from_db()
    if role in allowed:
        assert response.status_code == 302 and response.url == f"/requests/{request.pk}/"
        assert request.status == target
    else:
        assert response.status_code == (302 if role == "anonymous" else 403)
        if role == "anonymous":
            assert response.url.startswith("/login/")
        assert request.status == source


@pytest.mark.parametrize("role", ROLES)
def test_who_sees_the_preview(both_as, susy_request, role):
    request = susy_request("draft")
    api_client, page_client = both_as(role)
    api = api_client.get(f"/api/requests/{request.pk}/preview/")
    assert (api.status_code == 200) == (role in READERS)
    page = page_client.get(f"/requests/{request.pk}/preview/")
    assert page.status_code == (200 if role in READERS else 302)


@pytest.mark.parametrize("role", ROLES)
def test_who_may_open_the_request_form(client_as, role):
    response = client_as(role).get("/requests/new/")
    expected = {"anonymous": 302, "member": 403, "shifter": 403}.get(role, 200)
    assert response.status_code == expected


@pytest.mark.parametrize("role", ROLES)
def test_who_may_edit_a_draft(client_as, susy_request, role):
    request = susy_request("draft")
    response = client_as(role).get(f"/requests/{request.pk}/edit/")
    expected = 200 if role in WRITERS else (302 if role == "anonymous" else 403)
    assert response.status_code == expected


@pytest.mark.parametrize("role", ROLES)
def test_who_may_import_a_list_file(both_as, role):
    before = ProductionRequest.objects.count()
    api_client, page_client = both_as(role)
    api = api_client.post("/api/requests/import/", data="group:PHYS-SUSY\n", content_type="text/plain")
    # writers get past the permission check to the file's own errors; the others are refused outright
    assert api.status_code == (400 if role in WRITERS | {"other_group_manager"} else 403)
    page = page_client.get("/requests/import/")
    assert page.status_code == {"anonymous": 302, "member": 403, "shifter": 403}.get(role, 200)
    assert ProductionRequest.objects.count() == before


def test_a_group_manager_picks_only_the_groups_they_manage(client_as, top):
    response = client_as("group_manager").get("/requests/new/")
    options = response.context["form"].fields["group"].queryset
    assert [g.name for g in options] == ["PHYS-SUSY"]


def test_priority_above_the_group_cap_is_refused(client_as, susy, ptag, aods):
    response = client_as("group_manager").post(
        "/requests/new/",
        {
            "group": susy.pk,
            "description": "too urgent",
            "ptag": ptag.pk,
            "formats": ["DAOD_SUSY1"],
            "mode": "single",
            "priority": 900,
            "datasets": aods[0].name,
        },
    )
    assert response.status_code == 400
    assert "above the cap of 570" in response.content.decode()
    assert not ProductionRequest.objects.exists()
