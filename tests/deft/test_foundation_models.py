"""The domain model: constraints, names, counters' defaults, and what a person sees of each object."""

import pytest
from django.db import IntegrityError

from deft.models import Membership, Role
from tests.factories import (
    DatasetFactory,
    JobFactory,
    MembershipFactory,
    PhysicsGroupFactory,
    ProductionTaskFactory,
    PTagFactory,
    SliceFactory,
    StorageEndpointFactory,
    UserFactory,
)


def test_group_role_needs_a_group(db):
    with pytest.raises(IntegrityError):
        Membership.objects.create(user=UserFactory(), group=None, role=Role.GROUP_MANAGER)


def test_central_role_has_no_group(db):
    with pytest.raises(IntegrityError):
        MembershipFactory(role=Role.PRODUCTION_MANAGER, group=PhysicsGroupFactory())


def test_group_defaults_follow_group_production_rules(db):
    group = PhysicsGroupFactory(name="PHYS-SUSY")
    assert group.priority_cap == 570
    assert group.destination == "type=GROUPDISK&physgroup=phys-susy"


def test_endpoint_free_space_and_expression_attributes(db):
    endpoint = StorageEndpointFactory(capacity_bytes=100, used_bytes=30, physgroup="phys-susy")
    attrs = endpoint.rse_attributes()
    assert endpoint.free_bytes == 70
    assert attrs["type"] == "DATADISK" and attrs["physgroup"] == "phys-susy" and attrs[endpoint.name] is True


def test_ptag_params_fall_back_to_defaults_for_unknown_format(db):
    ptag = PTagFactory(format_params={"DAOD_SUSY1": {"cpu_per_event": 2.0}})
    assert ptag.params_for("DAOD_SUSY1")["cpu_per_event"] == 2.0
    assert ptag.params_for("DAOD_SUSY1")["skim_efficiency"] == 1.0
    assert ptag.cpu_per_event(["DAOD_SUSY1", "DAOD_X"]) == 3.0


def test_train_slice_is_one_task_single_carriage_one_per_format(db):
    formats = ["DAOD_SUSY1", "DAOD_SUSY2"]
    assert SliceFactory(formats=formats, train=True).task_formats() == [formats]
    assert SliceFactory(formats=formats, train=False).task_formats() == [["DAOD_SUSY1"], ["DAOD_SUSY2"]]


def test_slice_positions_are_unique_within_a_request(db):
    first = SliceFactory(position=1)
    with pytest.raises(IntegrityError):
        SliceFactory(request=first.request, position=1)


def test_task_progress_counts_input_events_whose_outputs_are_merged(db):
    # A skim: every input event processed, 40% of them merged so far, into outputs 10x smaller than the input.
    task = ProductionTaskFactory(events_total=10_000, events_processed=10_000, events_merged=4_000, events_done=400)
    assert task.progress == 0.4
    assert task.get_absolute_url() == f"/tasks/{task.pk}/"


def test_new_job_is_a_first_attempt_deriv_job(db):
    job = JobFactory()
    assert (job.job_type, job.status, job.attempt) == ("deriv", "defined", 1)
    assert str(job).startswith("deriv job")


def test_dataset_knows_data_from_mc(db):
    assert DatasetFactory(project="data12_8TeV").is_data
    assert not DatasetFactory(project="mc14_8TeV").is_data
