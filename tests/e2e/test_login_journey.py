"""A person logs in and finds their way around."""

from deft.demo import seed_demo


def test_shifter_logs_in_and_sees_the_home_page(transactional_db, login, live_server):
    seed_demo(datasets=12, password="deft-demo")
    page = login("shifter")
    assert page.get_by_role("heading", name="Derivation and group production").is_visible()
    nav = page.get_by_role("navigation", name="Main")
    for section in ("Requests", "Tasks", "Monitoring", "Errors", "Catalog", "Groups"):
        assert nav.get_by_role("link", name=section).is_visible()
    assert page.get_by_text("physics groups").is_visible()
    nav.get_by_role("link", name="Groups").click()
    assert page.get_by_role("link", name="PHYS-SUSY").is_visible()


def test_a_wrong_password_is_refused_with_a_message(transactional_db, page, live_server):
    seed_demo(datasets=0, password="deft-demo")
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("User name").fill("shifter")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").is_visible()
    assert "/login/" in page.url
