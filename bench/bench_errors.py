"""Speed of failure classification and of the errors summary, next to a naive version and the limit.

Classification: 5,000 failures (the size of a poll's batch) with the database's codes and rules, cached per
process (ours), against reloading the tables for each failure (naive) and the bare classifier on tables
already in memory (limit). Summary: the code x site heat map and site failure rates over a 24 h window of a
100,000-job table, against loading the failed jobs as objects and counting in Python (naive) and two raw
GROUP BY statements (limit). Data is written inside a transaction that is rolled back: the database is
left as it was. Run alone (``DEBUG=0 .venv/bin/python bench/bench_errors.py``) or through ``bench/run.py``.
"""

import os
import random
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.run import best_of  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deft.settings")

FAILURES = 5_000
NAIVE_SAMPLE = 200  # the naive classifier is timed on this many failures and scaled up to FAILURES
JOBS = 100_000
MIX = (
    ("trf", 65, "PoolSvc ERROR Could not open input file root://eos//AOD.pool.root.1"),
    ("trf", 65, "Segmentation fault in DerivationFramework::SkimmingTool"),
    ("trf", 68, "std::bad_alloc while reading event 1234"),
    ("trf", 253, "Unknown transexitcode"),
    ("pilot", 1099, "Failed to stage-in file: gfal-copy failed: Connection timed out"),
    ("pilot", 1212, "Payload ran out of memory"),
    ("executor", 7, "internal error"),
)


def classification_rows() -> list[dict]:
    from tasks.errors.classification import classify_failure, forget_tables, registry, rules_in_order
    from tasks.errors.registry import classify

    rng = random.Random(5)
    failures = [rng.choice(MIX) for _ in range(FAILURES)]

    def ours():
        forget_tables()  # include loading the tables once
        for source, code, diag in failures:
            classify_failure(source=source, code=code, diagnostic=diag)

    def naive():
        for source, code, diag in failures[:NAIVE_SAMPLE]:
            classify(source=source, code=code, diagnostic=diag, codes=registry(), rules=rules_in_order())

    codes, rules = registry(), rules_in_order()

    def limit():
        for source, code, diag in failures:
            classify(source=source, code=code, diagnostic=diag, codes=codes, rules=rules)

    return [
        {
            "benchmark": f"classify {FAILURES:,} failures (DB codes + rules)",
            "ours": best_of(ours),
            "baseline": best_of(naive, repeat=1) * FAILURES / NAIVE_SAMPLE,
            "limit": best_of(limit),
            "unit": "s",
            "target": "no query per failure",
        }
    ]


def make_jobs() -> None:
    from django.utils import timezone

    from catalog.models import Site
    from tasks.models import Job
    from tests.factories import ProductionTaskFactory

    rng = random.Random(2026)
    now = timezone.now()
    sites = [Site.objects.get_or_create(name=f"BENCH-SITE-{i}", defaults={"slots": 10})[0] for i in range(40)]
    tasks = [ProductionTaskFactory() for _ in range(20)]
    jobs = []
    for _ in range(JOBS):
        failed = rng.random() < 0.2
        source, code, diag = rng.choice(MIX)
        jobs.append(
            Job(
                task=rng.choice(tasks),
                site=rng.choice(sites),
                status="failed" if failed else "finished",
                ended_at=now - timedelta(hours=rng.uniform(0, 24 * 7)),
                error_source=source if failed else "",
                error_code=code if failed else None,
                error_class=rng.choice(("site", "software", "resource")) if failed else "",
                error_diag=diag if failed else "",
            )
        )
    Job.objects.bulk_create(jobs, batch_size=5000)


def summary_rows() -> list[dict]:
    from django.db import connection
    from django.utils import timezone

    from tasks.errors.summaries import SummaryFilters, errors_summary
    from tasks.models import Job

    make_jobs()
    start = timezone.now() - timedelta(hours=24)

    def ours():
        errors_summary(jobs=Job.objects.all(), window=timedelta(hours=24), filters=SummaryFilters())

    def naive():
        cells, rates = Counter(), Counter()
        for job in Job.objects.filter(ended_at__isnull=False).select_related("site"):
            if job.ended_at >= start:
                rates[(job.site.name, job.status)] += 1
                if job.status == "failed":
                    cells[(job.error_source, job.error_code, job.site.name)] += 1

    def limit():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT error_source, error_code, site_id, COUNT(*) FROM tasks_job WHERE status = 'failed' "
                "AND ended_at >= %s GROUP BY 1, 2, 3",
                [start],
            )
            cursor.fetchall()
            cursor.execute(
                "SELECT site_id, status, COUNT(*) FROM tasks_job WHERE status IN ('finished', 'failed') "
                "AND ended_at >= %s GROUP BY 1, 2",
                [start],
            )
            cursor.fetchall()

    return [
        {
            "benchmark": f"errors summary, 24 h of a {JOBS:,}-job table",
            "ours": best_of(ours),
            "baseline": best_of(naive, repeat=1),
            "limit": best_of(limit),
            "unit": "s",
            "target": "< 1 s on PostgreSQL",
        }
    ]


class _Rollback(Exception):
    pass


def run() -> list[dict]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    call_command("migrate", verbosity=0)
    rows: list[dict] = []
    try:
        with transaction.atomic():
            rows += classification_rows()
            rows += summary_rows()
            raise _Rollback
    except _Rollback:
        pass
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
