"""Samples of the rollups over time: throughput, ETA, "failed in the last hour" and the charts read these."""

from datetime import timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from .models import SAMPLE_FIELDS, Dimension, Rollup, Sample
from .rollups import site_jobs_fold

KEEP = timedelta(days=8)


def samples_write(*, now=None) -> int:
    """Sample the rollup rows that changed since the last sample (all of them the first time); prune old ones.

    Cheap: reads rollup rows only. A row that did not change keeps its last sample, which is still its value.
    """
    now = now or timezone.now()
    with transaction.atomic():
        last = Sample.objects.aggregate(ts=Max("ts"))["ts"]
        # Rows within a scope (`within(...)`) are not sampled: filtered breakdowns show no rates.
        rollups = Rollup.objects.filter(dimension__in=Dimension.values)
        changed = rollups if last is None else rollups.filter(updated__gte=last)
        rows = [
            Sample(ts=now, dimension=r["dimension"], key=r["key"], **{f: r[f] for f in SAMPLE_FIELDS})
            for r in changed.values("dimension", "key", *SAMPLE_FIELDS)
        ]
        Sample.objects.bulk_create(rows, batch_size=2000)
        Sample.objects.filter(ts__lt=now - KEEP).delete()
    site_jobs_fold()  # the same beat keeps the sites' ledger short
    return len(rows)
