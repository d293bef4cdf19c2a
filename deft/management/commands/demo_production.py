from django.core.management.base import BaseCommand

from deft.demo_production import demo_production_create


class Command(BaseCommand):
    help = "Register a demo production (one task per demo dataset) for the engine to run; watch it on /tasks/."

    def add_arguments(self, parser):
        parser.add_argument("--datasets", type=int, default=20)
        parser.add_argument("--group", default="PHYS-SUSY")
        parser.add_argument("--ptag", default="p1872")
        parser.add_argument("--once", action="store_true", help="do nothing if a demo production exists already")

    def handle(self, *args, datasets, group, ptag, once, **options):
        request_id = demo_production_create(datasets=datasets, group=group, ptag=ptag, once=once)
        self.stdout.write(f"request {request_id}: tasks registered; the worker's beat (every 2 s) runs them")
