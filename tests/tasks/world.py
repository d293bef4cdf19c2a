"""A small production world for engine tests: the demo's sites, disks, p-tags and catalog, and tasks on it."""

from catalog.models import Dataset, Replica, StorageEndpoint, TokenType
from deft.demo import seed_demo
from deft.models import PhysicsGroup
from requests_app.models import PTag
from tasks.engine.tick import tick
from tasks.models import ProductionTask
from tests.factories import ProductionRequestFactory, ProductionTaskFactory


def demo_world(datasets: int = 20):
    seed_demo(datasets=datasets)
    return PhysicsGroup.objects.get(name="PHYS-SUSY")


def request_tasks(group, *, count: int = 20, formats=("DAOD_SUSY1",), ptag: str = "p1872", **fields):
    """A request of `count` datasets (MC and data, not containers) with one registered task each."""
    request = ProductionRequestFactory(group=group, description="engine test")
    inputs = Dataset.objects.filter(is_container=False, project__in=("mc14_8TeV", "data12_8TeV"), prod_step="merge")
    tasks = []
    for dataset in inputs.order_by("name")[:count]:
        tasks.append(
            ProductionTaskFactory(
                request=request,
                group=group,
                input_dataset=dataset,
                ptag=PTag.objects.get(name=ptag),
                formats=list(formats),
                events_total=dataset.events,
                **{"destination": group.destination, **fields},
            )
        )
    return request, tasks


def run_until_ended(max_ticks: int = 400, tick_fn=tick) -> int:
    """Tick until every task ended (or give up); returns the ticks it took."""
    for n in range(1, max_ticks + 1):
        tick_fn()
        if not ProductionTask.objects.exclude(
            status__in=("done", "finished", "failed", "broken", "aborted", "obsolete", "paused", "exhausted")
        ).exists():
            return n
    return max_ticks


def proddisk_used() -> int:
    return sum(StorageEndpoint.objects.filter(token_type=TokenType.PRODDISK).values_list("used_bytes", flat=True))


def stage_in_failing_site(task):
    """The site holding the task's first input file, made to fail every stage-in; returns it."""
    lfn = task.input_dataset.file_set.first().lfn
    site = Replica.objects.filter(file__lfn=lfn).order_by("endpoint__name").first().endpoint.site
    StorageEndpoint.objects.filter(site=site, token_type=TokenType.DATADISK).update(
        attributes={"sim_failure": "stage-in"}
    )
    return site


def software_failing_tasks(count: int, **fields) -> list:
    """Tasks whose format DAOD_SUSY2 crashes in the payload on every attempt (a software error)."""
    group = demo_world(datasets=3)
    ptag = PTag.objects.get(name="p1874")
    ptag.format_params["DAOD_SUSY2"]["sim_failure"] = "software"
    ptag.save()
    return request_tasks(group, count=count, formats=("DAOD_SUSY2",), ptag="p1874", **fields)[1]
