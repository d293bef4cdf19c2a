"""A demo production for `make run`: a request of the demo catalog's datasets, its tasks registered, so that
the engine's tick (Celery beat) can be watched splitting, running, merging and replicating them."""

from django.contrib.auth import get_user_model
from django.db import transaction

from catalog.models import Dataset
from catalog.naming import task_name
from deft.models import PhysicsGroup
from requests_app.models import ProductionRequest, PTag, RequestStatus
from tasks.engine import observers
from tasks.models import ProductionTask

DEMO_DESCRIPTION = "demo production"


def demo_production_create(
    *, datasets: int = 20, group: str = "PHYS-SUSY", ptag: str = "p1872", formats=None, once: bool = False
) -> int:
    """Register one task per dataset (MC and data, not containers) of the demo catalog; returns the request id.

    With `once`, an existing demo production is kept and returned (so `make run` can be started again)."""
    if once and (existing := ProductionRequest.objects.filter(description__startswith=DEMO_DESCRIPTION).first()):
        return existing.pk
    physics_group = PhysicsGroup.objects.get(name=group)
    tag = PTag.objects.get(name=ptag)
    formats = list(formats or tag.formats[:2])
    inputs = Dataset.objects.filter(is_container=False, prod_step="merge").order_by("name")[:datasets]
    requester = get_user_model().objects.filter(username="prodmgr").first() or get_user_model().objects.first()
    with transaction.atomic():
        request = ProductionRequest.objects.create(
            group=physics_group,
            requester=requester,
            description=f"{DEMO_DESCRIPTION}: {len(inputs)} datasets, {', '.join(formats)} with {ptag}",
            status=RequestStatus.WORKING,
            priority=560,
        )
        created = ProductionTask.objects.bulk_create(
            ProductionTask(
                request=request,
                group=physics_group,
                project=dataset.project,
                name=task_name(dataset.name, ptag=ptag, formats=formats),
                input_dataset=dataset,
                ptag=tag,
                formats=formats,
                priority=request.priority,
                destination=request.effective_destination,
                events_total=dataset.events,
            )
            for dataset in inputs
        )
        observers.notify("on_tasks_created", created)  # the dashboards count the new tasks at once
    return request.pk
