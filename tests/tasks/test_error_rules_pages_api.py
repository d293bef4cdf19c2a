"""Rules are managed on a page and through the API by production managers; broken patterns are refused."""

import pytest
from django.urls import reverse

from deft.models import AuditEvent
from tasks.models import ErrorRule

NEW_RULE = {"source": "trf", "code": 65, "pattern": "XRDCRIT", "new_code": 2004, "error_class": "software"}
MAY_MANAGE = [
    ("production_manager", True),
    ("group_manager", False),
    ("shifter", False),
    ("member", False),
    ("anonymous", False),
]


@pytest.mark.parametrize("role, allowed", MAY_MANAGE)
def test_who_may_create_a_rule_through_the_api(api_as, role, allowed):
    response = api_as(role).post("/api/error-rules/", NEW_RULE, format="json")
    assert response.status_code in ((201,) if allowed else (401, 403))
    assert ErrorRule.objects.filter(pattern="XRDCRIT").exists() == allowed


@pytest.mark.parametrize("role, allowed", MAY_MANAGE)
def test_who_may_create_a_rule_on_the_page(client_as, role, allowed):
    client = client_as(role)
    response = client.post(reverse("errorrule-create"), {**NEW_RULE, "description": "test"})
    if allowed:
        assert response.status_code == 302
    else:
        assert response.status_code in (302, 403) and (response.status_code == 403 or "/login/" in response.url)
    assert ErrorRule.objects.filter(pattern="XRDCRIT").exists() == allowed


def test_a_new_rule_from_the_api_is_a_dry_run_placed_last_and_audited(api_as):
    response = api_as("production_manager").post("/api/error-rules/", NEW_RULE, format="json")
    body = response.json()
    assert body["active"] is False and body["created_by"] == "production-manager"
    assert body["position"] == ErrorRule.objects.order_by("-position").first().position
    assert AuditEvent.objects.filter(verb="create_rule", object_id=body["id"]).exists()


def test_everyone_with_a_role_reads_rules_and_codes(api_as):
    api = api_as("shifter")
    assert api.get("/api/error-rules/").json()["count"] == ErrorRule.objects.count()
    codes = api.get("/api/error-codes/?source=trf&code=2004").json()["results"]
    assert codes[0]["error_class"] == "software" and codes[0]["retry_action"] == "limit_retry"
    assert api.post("/api/error-codes/", {"source": "trf", "code": 1}, format="json").status_code == 405


def test_a_broken_pattern_is_a_400_from_the_api_naming_the_problem(api_as):
    response = api_as("production_manager").post("/api/error-rules/", {**NEW_RULE, "pattern": "(oops"}, format="json")
    assert response.status_code == 400
    assert "pattern does not compile" in response.json()["pattern"][0]
    assert not ErrorRule.objects.filter(pattern="(oops").exists()


def test_a_broken_pattern_is_a_form_error_on_the_page(client_as):
    response = client_as("production_manager").post(reverse("errorrule-create"), {**NEW_RULE, "pattern": "a[b"})
    assert response.status_code == 400
    assert "pattern does not compile" in response.content.decode()
    assert not ErrorRule.objects.filter(pattern="a[b").exists()


def test_editing_a_rule_to_a_broken_pattern_keeps_the_old_one(api_as):
    rule = ErrorRule.objects.first()
    response = api_as("production_manager").patch(f"/api/error-rules/{rule.pk}/", {"pattern": "*x"}, format="json")
    assert response.status_code == 400 and "does not compile" in response.json()["pattern"][0]
    assert ErrorRule.objects.get(pk=rule.pk).pattern == rule.pattern


def test_reordering_puts_the_given_rules_first(api_as):
    last = ErrorRule.objects.order_by("-position").first()
    api = api_as("production_manager")
    response = api.post("/api/error-rules/reorder/", {"rule_ids": [last.pk]}, format="json")
    assert response.status_code == 200
    assert ErrorRule.objects.order_by("position").first() == last
    bad = api.post("/api/error-rules/reorder/", {"rule_ids": [999999]}, format="json")
    assert bad.status_code == 400 and "999999" in str(bad.json())


def test_a_group_manager_may_not_reorder(api_as):
    last = ErrorRule.objects.order_by("-position").first()
    assert api_as("group_manager").post("/api/error-rules/reorder/", {"rule_ids": [last.pk]}).status_code == 403


def test_the_page_moves_and_activates_rules(client_as):
    client = client_as("production_manager")
    second, first = ErrorRule.objects.order_by("position")[1], ErrorRule.objects.order_by("position")[0]
    client.post(reverse("errorrule-move", args=[second.pk]), {"direction": "up"})
    assert ErrorRule.objects.order_by("position").first() == second
    client.post(reverse("errorrule-toggle", args=[first.pk]))
    assert ErrorRule.objects.get(pk=first.pk).active is False
    page = client.get(reverse("errorrule-list")).content.decode()
    assert "dry run" in page and reverse("errorrule-edit", args=[first.pk]) in page


def test_a_shifter_sees_the_rules_page_without_buttons(client_as):
    client = client_as("shifter")
    page = client.get(reverse("errorrule-list"))
    assert page.status_code == 200 and "New rule" not in page.content.decode()
    assert client.get(reverse("errorrule-create")).status_code == 403
