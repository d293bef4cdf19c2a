"""Core objects: physics groups, who holds which role, and the audit trail."""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.urls import reverse

GROUP_PRIORITY_CAP = 570  # group managers may not go above this (DOMAIN.md)


class Role(models.TextChoices):
    GROUP_MANAGER = "group_manager", "group manager"
    MEMBER = "member", "member"
    PRODUCTION_MANAGER = "production_manager", "production manager"
    SHIFTER = "shifter", "shifter"

    @classmethod
    def central(cls):
        """Roles that are held for the whole system, not for one group."""
        return (cls.PRODUCTION_MANAGER, cls.SHIFTER)


class PhysicsGroup(models.Model):
    name = models.CharField(max_length=64, unique=True, help_text="e.g. PHYS-SUSY")
    code = models.CharField(max_length=16, unique=True, help_text="short code, e.g. SUSY")
    egroup = models.EmailField("e-group address", help_text="the group's mailing list")
    priority_cap = models.PositiveIntegerField(default=GROUP_PRIORITY_CAP)
    destination = models.CharField(
        max_length=255, help_text="generic destination, an RSE expression: type=GROUPDISK&physgroup=phys-susy"
    )
    auto_approve = models.BooleanField(default=False, help_text="sending a request approves it at once")
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("group-detail", args=[self.pk])


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    group = models.ForeignKey(PhysicsGroup, null=True, blank=True, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=32, choices=Role.choices)

    class Meta:
        ordering = ["user__username", "role"]
        constraints = [
            models.UniqueConstraint(fields=["user", "group", "role"], name="membership_unique_group_role"),
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=Q(group__isnull=True),
                name="membership_unique_central_role",
            ),
            # Group roles name a group; central roles (production manager, shifter) do not.
            models.CheckConstraint(
                condition=Q(role__in=Role.central(), group__isnull=True)
                | (~Q(role__in=Role.central()) & Q(group__isnull=False)),
                name="membership_group_matches_role",
            ),
        ]

    def __str__(self):
        return f"{self.user} {self.get_role_display()}" + (f" of {self.group}" if self.group_id else "")


class AuditEvent(models.Model):
    """Who did what to which object, when, and why. Bulk actions write these in bulk."""

    # An append-only log that bulk actions write 2,000 rows at a time: its foreign keys are kept by Django (a user
    # deleted sets actor to null, through the ORM) and not by database constraints, whose deferred checks, one per
    # row and key, cost as much at commit as the insert itself. content_type has no index of its own:
    # audit_object_time leads with it.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )
    verb = models.CharField(max_length=64)
    content_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    object_id = models.BigIntegerField()
    object_repr = models.CharField(max_length=255, blank=True)
    comment = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    # The bulk operation that wrote this row, if any: a redelivered batch must not write it twice.
    operation_id = models.BigIntegerField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id", "created"], name="audit_object_time")]
        constraints = [
            models.UniqueConstraint(
                fields=["operation_id", "content_type", "object_id"],
                condition=Q(operation_id__isnull=False),
                name="audit_once_per_operation_object",
            )
        ]

    def __str__(self):
        return f"{self.created:%Y-%m-%d %H:%M} {self.actor} {self.verb} {self.object_repr}"
