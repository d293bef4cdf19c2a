import time

from django.core.management.base import BaseCommand

from monitoring.rebuild import rollups_rebuild, task_counters_rebuild


class Command(BaseCommand):
    help = "Recompute task counters from job rows, then the rollups from task rows (the dashboards' repair path)."

    def add_arguments(self, parser):
        parser.add_argument("--rollups-only", action="store_true", help="keep task counters, rebuild rollups")

    def handle(self, *args, rollups_only=False, **options):
        start = time.monotonic()
        if not rollups_only:
            n = task_counters_rebuild()
            self.stdout.write(f"recounted {n:,} tasks from their jobs in {time.monotonic() - start:.1f} s")
        start = time.monotonic()
        n = rollups_rebuild()
        self.stdout.write(f"rebuilt {n:,} rollup rows in {time.monotonic() - start:.1f} s")
