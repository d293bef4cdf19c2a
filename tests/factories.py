"""factory_boy factories for every model."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from factory.django import DjangoModelFactory

from catalog.models import Dataset, File, Replica, ReplicationRule, Site, StorageEndpoint, Tier, TokenType
from deft.models import AuditEvent, Membership, PhysicsGroup, Role
from requests_app.models import ProductionRequest, PTag, Slice
from tasks.models import ErrorCode, Job, JobOutput, Operation, ProductionTask, TaskDataset


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("deft-demo")


class PhysicsGroupFactory(DjangoModelFactory):
    class Meta:
        model = PhysicsGroup
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"PHYS-G{n}")
    code = factory.LazyAttribute(lambda g: g.name.removeprefix("PHYS-"))
    egroup = factory.LazyAttribute(lambda g: f"atlas-{g.name.lower()}-production@example.org")
    destination = factory.LazyAttribute(lambda g: f"type=GROUPDISK&physgroup={g.name.lower()}")


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    group = factory.SubFactory(PhysicsGroupFactory)
    role = Role.GROUP_MANAGER


class AuditEventFactory(DjangoModelFactory):
    class Meta:
        model = AuditEvent

    actor = factory.SubFactory(UserFactory)
    verb = "edit"
    content_type = factory.LazyFunction(lambda: ContentType.objects.get_for_model(PhysicsGroup))
    object_id = 1
    object_repr = "something"


class SiteFactory(DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"SITE-{n}")
    tier = Tier.T2
    cloud = "DE"
    slots = 50
    events_per_second = 5.0


class StorageEndpointFactory(DjangoModelFactory):
    class Meta:
        model = StorageEndpoint
        django_get_or_create = ("name",)

    site = factory.SubFactory(SiteFactory)
    token_type = TokenType.DATADISK
    name = factory.LazyAttribute(lambda e: f"{e.site.name}_{e.token_type}")
    capacity_bytes = 100 * 1000**4
    used_bytes = 10 * 1000**4


class DatasetFactory(DjangoModelFactory):
    class Meta:
        model = Dataset
        django_get_or_create = ("name",)

    number = factory.Sequence(lambda n: 120000 + n)
    project = "mc14_8TeV"
    physics_short = "PowhegPythia_P2011C_ttbar"
    prod_step = "merge"
    data_type = "AOD"
    tags = "e1727_s1933_s1911_r5591_r5625"
    name = factory.LazyAttribute(
        lambda d: f"{d.project}.{d.number}.{d.physics_short}.{d.prod_step}.{d.data_type}.{d.tags}"
    )


class FileFactory(DjangoModelFactory):
    class Meta:
        model = File

    dataset = factory.SubFactory(DatasetFactory)
    lfn = factory.Sequence(lambda n: f"AOD.{n:08d}._000001.pool.root.1")
    events = 5000
    bytes = factory.LazyAttribute(lambda f: f.events * 300_000)
    lumiblocks = factory.LazyAttribute(lambda f: [[195847, 1, f.events]])


class ReplicaFactory(DjangoModelFactory):
    class Meta:
        model = Replica

    file = factory.SubFactory(FileFactory)
    endpoint = factory.SubFactory(StorageEndpointFactory)


class ReplicationRuleFactory(DjangoModelFactory):
    class Meta:
        model = ReplicationRule

    dataset = factory.SubFactory(DatasetFactory)
    rse_expression = "type=GROUPDISK"


class PTagFactory(DjangoModelFactory):
    class Meta:
        model = PTag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"p{1900 + n}")
    cache = "AtlasDerivation 19.1.4.7"
    formats = ["DAOD_SUSY1", "DAOD_SUSY2", "DAOD_TOPQ1"]
    format_params = factory.LazyAttribute(
        lambda p: {f: {"cpu_per_event": 0.5, "bytes_per_event": 10_000, "skim_efficiency": 0.2} for f in p.formats}
    )


class ProductionRequestFactory(DjangoModelFactory):
    class Meta:
        model = ProductionRequest

    group = factory.SubFactory(PhysicsGroupFactory)
    requester = factory.SubFactory(UserFactory)
    description = factory.Sequence(lambda n: f"derivations for analysis {n}")


class SliceFactory(DjangoModelFactory):
    class Meta:
        model = Slice

    request = factory.SubFactory(ProductionRequestFactory)
    position = factory.Sequence(lambda n: n + 1)
    dataset = factory.SubFactory(DatasetFactory)
    dataset_name = factory.LazyAttribute(lambda s: s.dataset.name)
    ptag = factory.SubFactory(PTagFactory)
    formats = ["DAOD_SUSY1"]


class ProductionTaskFactory(DjangoModelFactory):
    class Meta:
        model = ProductionTask

    request = factory.SubFactory(ProductionRequestFactory)
    group = factory.LazyAttribute(lambda t: t.request.group)
    input_dataset = factory.SubFactory(DatasetFactory)
    ptag = factory.SubFactory(PTagFactory)
    formats = ["DAOD_SUSY1"]
    project = factory.LazyAttribute(lambda t: t.input_dataset.project)
    name = factory.LazyAttribute(lambda t: f"{t.input_dataset.name}.deriv.{t.formats[0]}.{t.ptag.name}")
    events_total = 50_000


class TaskDatasetFactory(DjangoModelFactory):
    class Meta:
        model = TaskDataset

    task = factory.SubFactory(ProductionTaskFactory)
    dataset = factory.SubFactory(DatasetFactory, data_type="DAOD_SUSY1", prod_step="deriv")
    format = "DAOD_SUSY1"


class JobFactory(DjangoModelFactory):
    class Meta:
        model = Job

    task = factory.SubFactory(ProductionTaskFactory)
    nevents = 5000


class JobOutputFactory(DjangoModelFactory):
    class Meta:
        model = JobOutput

    job = factory.SubFactory(JobFactory)
    format = "DAOD_SUSY1"
    lfn = factory.Sequence(lambda n: f"DAOD_SUSY1.{n:08d}._000001.pool.root.1")
    bytes = 1_000_000
    events = 5000


class OperationFactory(DjangoModelFactory):
    class Meta:
        model = Operation

    action = "abort"
    actor = factory.SubFactory(UserFactory)


class ErrorCodeFactory(DjangoModelFactory):
    class Meta:
        model = ErrorCode
        django_get_or_create = ("source", "code")

    source = "pilot"
    code = factory.Sequence(lambda n: 9000 + n)
    name = factory.Sequence(lambda n: f"TESTERROR{n}")


def make_tasks(n: int, *, request=None, **fields) -> list[ProductionTask]:
    """Many tasks of one request at once (bulk_create), sharing its input dataset and p-tag."""
    request = request or ProductionRequestFactory()
    dataset, ptag = DatasetFactory(), PTagFactory()
    tasks = [
        ProductionTask(
            request=request,
            group=request.group,
            input_dataset=dataset,
            ptag=ptag,
            project=dataset.project,
            name=f"{dataset.name}.deriv.DAOD_SUSY1.{ptag.name}.{request.pk}.{i:05d}",
            formats=["DAOD_SUSY1"],
            events_total=50_000,
            **fields,
        )
        for i in range(n)
    ]
    return ProductionTask.objects.bulk_create(tasks, batch_size=2000)


def add_jobs(tasks, **per_status: int) -> None:
    """Give every task jobs in these statuses (add_jobs(tasks, running=2, defined=1)), counters kept exact."""
    from django.db.models import F

    jobs = [Job(task=t, status=s, nevents=5000) for t in tasks for s, n in per_status.items() for _ in range(n)]
    Job.objects.bulk_create(jobs, batch_size=5000)
    counters = {f"jobs_{s}": F(f"jobs_{s}") + n for s, n in per_status.items()}
    ProductionTask.objects.filter(pk__in=[t.pk for t in tasks]).update(**counters)
