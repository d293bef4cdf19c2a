"""Tasks run end to end in-process (the tick called directly): split, brokered, run, merged, cleaned, replicated."""

import pytest
from django.db.models import Sum

from catalog.models import File, Replica, ReplicationRule, TokenType
from tasks.models import JobOutput, ProductionTask
from tests.tasks.world import demo_world, proddisk_used, request_tasks, run_until_ended


@pytest.fixture
def fast_grid(settings):
    settings.DEFT_SIM_TIME_FACTOR = 1e9  # every simulated job ends at the next poll


def test_a_request_of_datasets_runs_to_done_with_outputs_on_the_group_disk(db, fast_grid):
    group = demo_world(datasets=8)
    _request, tasks = request_tasks(group, count=8)
    ptag = tasks[0].ptag  # a skim: the outputs keep 22 % of the input events
    ptag.format_params = {f: {**ptag.params_for(f), "skim_efficiency": 0.22} for f in ptag.formats}
    ptag.save()
    run_until_ended()
    for task in ProductionTask.objects.filter(pk__in=[t.pk for t in tasks]):
        assert task.status == "done", (task.status, task.error_dialog)
        merged = task.datasets.get(merged=True).dataset
        assert task.events_done == merged.events > 0
        # Done means every input event is merged, although the skim's outputs hold fewer events than the input.
        assert task.events_done < task.events_total == task.events_merged and task.progress == 1.0
        rule = ReplicationRule.objects.get(dataset=merged)
        assert rule.state == "OK" and rule.endpoint.token_type == TokenType.GROUPDISK
        assert rule.endpoint.physgroup == "phys-susy"
        assert Replica.objects.filter(file__dataset=merged, endpoint=rule.endpoint).count() == merged.files
    assert not Replica.objects.filter(file__dataset__name__endswith=".um").exists()
    assert proddisk_used() == 0
    assert JobOutput.objects.filter(merged=False, deleted=False).count() == 0
    merged_events = File.objects.filter(dataset__name__contains="_tid", dataset__task_links__merged=True)
    assert merged_events.aggregate(e=Sum("events"))["e"] == sum(
        ProductionTask.objects.values_list("events_done", flat=True)
    )
