"""Status words of the catalog's objects: datasets, replicas and replication rules (Rucio's words)."""

from django.db import models


class DatasetStatus(models.TextChoices):
    OPEN = "open"  # still being written (an output being produced)
    CLOSED = "closed"  # complete
    DELETED = "deleted"


class ReplicaState(models.TextChoices):
    AVAILABLE = "available"
    COPYING = "copying"
    UNAVAILABLE = "unavailable"


class RuleState(models.TextChoices):
    REPLICATING = "REPLICATING"
    OK = "OK"
    STUCK = "STUCK"
