from django.conf import settings
from django.core.management.base import BaseCommand

from deft.demo import seed_demo


class Command(BaseCommand):
    help = "Load the demo world (groups, people, sites, disks, p-tags, catalog). Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--datasets", type=int, default=400, help="how many input datasets (default 400)")
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args, datasets, seed, **options):
        if datasets < 0:
            self.stderr.write("--datasets must be zero or more")
            raise SystemExit(2)
        report = seed_demo(datasets=datasets, password=settings.DEFT_DEMO_PASSWORD, seed=seed)
        self.stdout.write(
            f"demo: {report.groups} groups, {report.users} users, {report.sites} sites, {report.endpoints} endpoints, "
            f"{report.ptags} p-tags; {report.datasets_created} datasets and {report.files_created} files created"
        )
