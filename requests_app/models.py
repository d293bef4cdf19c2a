"""What a group asks for: a production request, its slices, and the p-tags that configure derivations."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from .states import RequestStatus

DEFAULT_PRIORITY = 560  # group production's default priority (DOMAIN.md)


class PTag(models.Model):
    """A derivation configuration, e.g. p1872: the cache that runs it, the transform, the formats it writes."""

    name = models.CharField(max_length=16, unique=True, help_text="e.g. p1872")
    cache = models.CharField(max_length=64, help_text="software cache, e.g. AtlasDerivation 19.1.4.7")
    transform = models.CharField(max_length=64, default="Reco_tf.py")
    step_name = models.CharField(max_length=16, default="deriv")
    formats = models.JSONField(default=list, help_text='formats it can write, e.g. ["DAOD_SUSY1", "DAOD_TOPQ1"]')
    # {format: {"cpu_per_event": seconds, "bytes_per_event": bytes, "skim_efficiency": 0..1}}
    format_params = models.JSONField(default=dict, blank=True)
    memory_mb = models.PositiveIntegerField(default=2000)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "p-tag"

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("ptag-detail", args=[self.pk])

    def params_for(self, data_format: str) -> dict:
        """CPU seconds and bytes per event and skim efficiency of one format, with sane defaults."""
        defaults = {"cpu_per_event": 1.0, "bytes_per_event": 10_000, "skim_efficiency": 1.0}
        return {**defaults, **self.format_params.get(data_format, {})}

    def cpu_per_event(self, formats) -> float:
        """A train reads the input once and runs every carriage: its cost per event is the sum."""
        return sum(self.params_for(f)["cpu_per_event"] for f in formats) or 1.0


class ProductionRequest(models.Model):
    group = models.ForeignKey("deft.PhysicsGroup", on_delete=models.PROTECT, related_name="requests")
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="requests")
    description = models.TextField()
    status = models.CharField(max_length=16, choices=RequestStatus.choices, default=RequestStatus.DRAFT)
    ticket = models.CharField(max_length=64, blank=True, help_text="ticket reference, e.g. ATLDPD-123")
    project = models.CharField(max_length=64, blank=True, help_text="e.g. mc14_8TeV")
    priority = models.PositiveIntegerField(default=DEFAULT_PRIORITY)
    destination = models.CharField(max_length=255, blank=True, help_text="RSE expression; the group's by default")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["group", "status"], name="request_group_status")]

    def __str__(self):
        return f"request {self.pk}: {self.description[:60]}"

    def get_absolute_url(self):
        return reverse("request-detail", args=[self.pk])

    @property
    def effective_destination(self) -> str:
        return self.destination or self.group.destination


class Slice(models.Model):
    """One input dataset or container of a request, with the formats to derive from it."""

    request = models.ForeignKey(ProductionRequest, on_delete=models.CASCADE, related_name="slices")
    position = models.PositiveIntegerField()
    dataset = models.ForeignKey(
        "catalog.Dataset", null=True, blank=True, on_delete=models.PROTECT, related_name="slices"
    )
    # Kept as typed, so that an unknown dataset in a list file is shown and refused, not silently dropped.
    dataset_name = models.CharField(max_length=255)
    ptag = models.ForeignKey(PTag, on_delete=models.PROTECT, related_name="slices")
    formats = models.JSONField(default=list)
    skim = models.BooleanField(default=True)
    train = models.BooleanField(default=False, help_text="all formats in one task, instead of one per format")
    events_per_job = models.PositiveIntegerField(null=True, blank=True, help_text="empty: automatic")
    priority = models.PositiveIntegerField(null=True, blank=True, help_text="empty: the request's")
    comment = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["request_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["request", "position"], name="slice_unique_position"),
            models.CheckConstraint(
                condition=Q(events_per_job__isnull=True) | Q(events_per_job__gt=0),
                name="slice_events_per_job_gt_0",
            ),
        ]

    def __str__(self):
        return f"{self.request_id}/{self.position} {self.dataset_name}"

    @property
    def effective_priority(self) -> int:
        return self.priority if self.priority is not None else self.request.priority

    def task_formats(self) -> list[list[str]]:
        """A train makes one task of all formats; single carriage makes one task per format."""
        return [list(self.formats)] if self.train else [[f] for f in self.formats]
