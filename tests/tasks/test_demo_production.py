"""`manage.py demo_production` registers a production for `make run` to show progressing."""

from django.core.management import call_command

from deft.demo import seed_demo
from tasks.models import ProductionTask


def test_demo_production_registers_one_task_per_dataset_for_the_engine(db):
    seed_demo(datasets=6)
    call_command("demo_production", datasets=5)
    tasks = ProductionTask.objects.all()
    assert tasks.count() == 5
    assert set(tasks.values_list("status", flat=True)) == {"registered"}
    assert all(t.destination == "type=GROUPDISK&physgroup=phys-susy" and t.events_total > 0 for t in tasks)


def test_make_run_started_twice_keeps_one_demo_production(db):
    seed_demo(datasets=6)
    call_command("demo_production", datasets=5, once=True)
    call_command("demo_production", datasets=5, once=True)
    assert ProductionTask.objects.count() == 5
