"""A small catalog to make requests from: three mc14 AOD datasets with files and replicas, and a p-tag."""

import pytest

from tests.factories import DatasetFactory, FileFactory, PTagFactory, ReplicaFactory, StorageEndpointFactory


@pytest.fixture
def ptag(db):
    return PTagFactory(name="p1872", formats=["DAOD_SUSY1", "DAOD_SUSY2", "DAOD_TOPQ1"])


@pytest.fixture
def group_disk(db, susy):
    return StorageEndpointFactory(name="DESY-HH_PHYS-SUSY", token_type="GROUPDISK", physgroup="phys-susy")


@pytest.fixture
def aods(db, group_disk):
    """Three AOD datasets of 2 files x 5,000 events, each file with a replica."""
    datasets = []
    for number in (117050, 117051, 117052):
        dataset = DatasetFactory(number=number, events=10_000, files=2)
        for _ in range(2):
            ReplicaFactory(file=FileFactory(dataset=dataset), endpoint=group_disk)
        datasets.append(dataset)
    return datasets


def listfile_for(datasets, *, group="PHYS-SUSY", tag="p1872", formats="DAOD_SUSY1.DAOD_SUSY2", extra=""):
    lines = [f"group:{group}", "comment:SUSY derivations", f"tag:{tag}", extra, f"formats:{formats}"]
    lines += [f"ds:{d.name if hasattr(d, 'name') else d}" for d in datasets]
    return "\n".join(line for line in lines if line) + "\n"


@pytest.fixture
def eager_celery():
    """Queued work runs in-process at once (the API's on_commit hooks run it when the test captures them)."""
    from deft.celery import app

    was = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = was


@pytest.fixture
def draft(db, susy, susy_manager, ptag, aods):
    """A SUSY draft of the three AODs, two formats each, single carriage."""
    from requests_app.services import RequestSpec, SliceSpec, request_create

    spec = RequestSpec(
        group=susy,
        description="SUSY derivations",
        ptag=ptag,
        slices=[SliceSpec(d.name, ("DAOD_SUSY1", "DAOD_SUSY2")) for d in aods],
    )
    return request_create(actor=susy_manager, spec=spec)


@pytest.fixture
def waiting(draft, susy_manager):
    from requests_app.services import request_send

    request_send(request=draft, actor=susy_manager)
    draft.refresh_from_db()
    return draft


@pytest.fixture
def api_for():
    """An API client authenticated as an existing user."""
    from rest_framework.test import APIClient

    def make(user):
        api = APIClient()
        api.force_authenticate(user)
        return api

    return make
