"""The data catalog (the Rucio/AMI role): sites, storage endpoints, datasets, files and their replicas."""

from django.db import models
from django.db.models import Q
from django.urls import reverse

from catalog.states import DatasetStatus, ReplicaState, RuleState


class Tier(models.TextChoices):
    T0 = "T0"
    T1 = "T1"
    T2 = "T2"


class TokenType(models.TextChoices):
    DATADISK = "DATADISK"
    PRODDISK = "PRODDISK"
    GROUPDISK = "GROUPDISK"
    SCRATCHDISK = "SCRATCHDISK"


class Site(models.Model):
    """A computing site: where jobs run. Its storage is one or more StorageEndpoints."""

    name = models.CharField(max_length=64, unique=True, help_text="e.g. CERN-PROD")
    tier = models.CharField(max_length=2, choices=Tier.choices)
    cloud = models.CharField(max_length=16, blank=True, help_text="e.g. CERN, DE, FR, UK, US")
    slots = models.PositiveIntegerField(default=100, help_text="job slots for production")
    events_per_second = models.FloatField(default=5.0, help_text="per-slot processing rate (simulated grid)")
    online = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("site-detail", args=[self.pk])


class StorageEndpoint(models.Model):
    """A storage endpoint (RSE), e.g. CERN-PROD_PHYS-SUSY, with the attributes destination expressions use."""

    name = models.CharField(max_length=64, unique=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="endpoints")
    token_type = models.CharField(max_length=16, choices=TokenType.choices)
    physgroup = models.CharField(max_length=32, blank=True, help_text="for group disks, e.g. phys-susy")
    capacity_bytes = models.BigIntegerField(default=0)
    used_bytes = models.BigIntegerField(default=0)
    available = models.BooleanField(default=True)
    attributes = models.JSONField(default=dict, blank=True, help_text="free-form attributes for RSE expressions")

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["token_type", "site"], name="endpoint_token_site")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("endpoint-detail", args=[self.pk])

    @property
    def free_bytes(self) -> int:
        return max(self.capacity_bytes - self.used_bytes, 0)

    def rse_attributes(self) -> dict:
        """The attributes an RSE expression sees: the built-in ones, then the free-form ones."""
        builtin = {
            "name": self.name,
            "rse": self.name,
            "type": self.token_type,
            "site": self.site.name,
            "tier": self.site.tier.removeprefix("T"),
            "cloud": self.site.cloud,
            "physgroup": self.physgroup,
            self.name: True,
            "available": self.available,
            "free_bytes": self.free_bytes,
        }
        return {**builtin, **self.attributes}


class Dataset(models.Model):
    """A named collection of files; a container groups datasets. The name's parts are parsed into fields."""

    name = models.CharField(max_length=255, unique=True)
    project = models.CharField(max_length=64, blank=True, db_index=True)
    number = models.PositiveIntegerField(null=True, blank=True, help_text="dataset number or run number")
    physics_short = models.CharField(max_length=128, blank=True)
    prod_step = models.CharField(max_length=32, blank=True)
    data_type = models.CharField(max_length=64, blank=True)
    tags = models.CharField(max_length=255, blank=True, help_text="tag chain, e.g. e1727_s1933_r5591")
    is_container = models.BooleanField(default=False)
    members = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="containers", help_text="datasets in a container"
    )
    events = models.BigIntegerField(default=0)
    files = models.PositiveIntegerField(default=0)
    bytes = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=DatasetStatus.choices, default=DatasetStatus.CLOSED)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["project", "data_type", "number"], name="dataset_project_type_number"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("dataset-detail", args=[self.pk])

    @property
    def is_data(self) -> bool:
        return self.project.startswith("data")


class File(models.Model):
    """A file of a dataset: its size, its events and the lumiblocks it holds."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="file_set")
    # Unique by a constraint: `unique=True` would add a LIKE index that no query uses, written for every file.
    lfn = models.CharField("logical file name", max_length=255)
    bytes = models.BigIntegerField(default=0)
    events = models.BigIntegerField(default=0)
    # [[run, lumiblock, events], ...]: kept with the file because splitting always reads them together, and a
    # row per lumiblock would make the catalog ten times larger for no query that needs it.
    lumiblocks = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["dataset_id", "lfn"]
        constraints = [models.UniqueConstraint(fields=["lfn"], name="file_lfn_unique")]

    def __str__(self):
        return self.lfn


class Replica(models.Model):
    # No index of their own: the (file, endpoint) constraint and the (endpoint, state) index lead with them.
    file = models.ForeignKey(File, on_delete=models.CASCADE, related_name="replicas", db_index=False)
    endpoint = models.ForeignKey(StorageEndpoint, on_delete=models.CASCADE, related_name="replicas", db_index=False)
    state = models.CharField(max_length=16, choices=ReplicaState.choices, default=ReplicaState.AVAILABLE)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["file", "endpoint"], name="replica_once_per_endpoint")]
        indexes = [models.Index(fields=["endpoint", "state"], name="replica_endpoint_state")]

    def __str__(self):
        return f"{self.file} @ {self.endpoint}"


class ReplicationRule(models.Model):
    """A request to have a dataset at the endpoint chosen for an RSE expression (Rucio's replication rule)."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="rules")
    rse_expression = models.CharField(max_length=255)
    endpoint = models.ForeignKey(StorageEndpoint, null=True, blank=True, on_delete=models.PROTECT, related_name="rules")
    state = models.CharField(max_length=16, choices=RuleState.choices, default=RuleState.REPLICATING)
    error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created"]
        indexes = [
            models.Index(fields=["state"], name="rule_replicating", condition=Q(state="REPLICATING")),
        ]

    def __str__(self):
        return f"{self.dataset} -> {self.rse_expression} ({self.state})"
