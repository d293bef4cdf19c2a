"""Every page needs a login, answers the roles it should, and shows bad filters as a message, not a 500."""

import pytest

from tests.factories import (
    DatasetFactory,
    JobFactory,
    OperationFactory,
    ProductionTaskFactory,
    PTagFactory,
    SiteFactory,
    StorageEndpointFactory,
)

LIST_PAGES = [
    "/",
    "/groups/",
    "/catalog/datasets/",
    "/monitoring/sites/",
    "/catalog/endpoints/",
    "/requests/",
    "/requests/ptags/",
    "/tasks/",
    "/tasks/operations/",
    "/tasks/error-codes/",
    "/monitoring/",
]


@pytest.mark.parametrize("url", LIST_PAGES)
def test_pages_send_anonymous_people_to_the_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("url", LIST_PAGES)
def test_pages_render_for_a_shifter(client_as, url):
    assert client_as("shifter").get(url).status_code == 200


def test_detail_pages_render(client_as):
    client = client_as("shifter")
    job = JobFactory()
    objects = [
        job,
        job.task,
        job.task.request,
        job.task.input_dataset,
        SiteFactory(),
        StorageEndpointFactory(),
        PTagFactory(),
        OperationFactory(),
        job.task.group,
    ]
    for obj in objects:
        assert client.get(obj.get_absolute_url()).status_code == 200, obj


def test_a_bad_filter_value_is_a_400_page_naming_the_field(client_as):
    response = client_as("shifter").get("/tasks/?priority_min=high")
    assert response.status_code == 400
    assert b"priority_min" in response.content


def test_the_task_list_holds_one_page_of_rows(client_as, django_assert_max_num_queries):
    client = client_as("shifter")
    task = ProductionTaskFactory()
    for _ in range(30):
        ProductionTaskFactory(request=task.request, group=task.group, ptag=task.ptag, input_dataset=task.input_dataset)
    with django_assert_max_num_queries(12):
        response = client.get("/tasks/?page_size=10")
    assert response.content.count(b'class="status s-') == 10


def test_dataset_list_filters_by_pattern(client_as):
    DatasetFactory(number=117050)
    DatasetFactory(project="data12_8TeV", physics_short="physics_Muons", number=200842)
    content = client_as("shifter").get("/catalog/datasets/?name=data12_8TeV.*").content
    assert b"physics_Muons" in content and b"117050" not in content


def test_the_home_page_says_what_is_in_the_system(client_as):
    ProductionTaskFactory(status="running")
    content = client_as("group_manager").get("/").content.decode()
    assert "tasks" in content and "running 1" in content


def test_a_user_with_no_role_is_told_so(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="newcomer"))
    assert b"You hold no role" in client.get("/").content
