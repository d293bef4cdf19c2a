"""Replication of merged outputs to the task's destination (Rucio's replication rules, simulated).

When a task has merged everything it will merge, each merged output dataset gets a `ReplicationRule` to the
task's destination: an RSE expression (`type=GROUPDISK&physgroup=phys-susy`) evaluated over the available
endpoints; the one with most free space for the dataset's bytes wins (`rse_expression.choose_endpoint`).
The rule is REPLICATING, and becomes OK at a later tick, when its replicas are written at the endpoint and
the endpoint's used bytes grow. No matching endpoint makes the rule STUCK and says so on the task.
"""

from django.db import transaction
from django.db.models import F, Sum

from catalog.models import Replica, ReplicationRule, RuleState, StorageEndpoint
from catalog.rse_expression import RSEExpressionError, choose_endpoint
from tasks.models import ProductionTask, TaskDataset


def task_destination(task: ProductionTask) -> str:
    return task.destination or task.group.destination


def replication_rules_create(*, task: ProductionTask) -> list[ReplicationRule]:
    """A rule per merged output dataset with files (an existing OK rule replicates again after a retry)."""
    rules = []
    links = TaskDataset.objects.filter(task=task, merged=True, dataset__files__gt=0).select_related("dataset")
    for link in links:
        rule = ReplicationRule.objects.filter(dataset=link.dataset).order_by("-pk").first()
        if rule is None:
            rule = rule_create(dataset=link.dataset, expression=task_destination(task), task=task)
        elif rule.state == RuleState.OK and replicated_bytes(rule) < link.dataset.bytes:
            ReplicationRule.objects.filter(pk=rule.pk).update(state=RuleState.REPLICATING)
        rules.append(rule)
    return rules


def rule_create(*, dataset, expression: str, task: ProductionTask) -> ReplicationRule:
    endpoints = list(StorageEndpoint.objects.filter(available=True).select_related("site"))
    try:
        endpoint = choose_endpoint(expression, endpoints, needed_bytes=dataset.bytes) if expression else None
        problem = "" if endpoint else no_endpoint_message(expression, dataset.bytes)
    except RSEExpressionError as error:
        endpoint, problem = None, f"destination '{expression}' is not a valid RSE expression: {error}"
    state = RuleState.REPLICATING if endpoint else RuleState.STUCK
    with transaction.atomic():
        rule = ReplicationRule.objects.create(
            dataset=dataset, rse_expression=expression, endpoint=endpoint, state=state, error=problem
        )
        if problem:
            ProductionTask.objects.filter(pk=task.pk).update(
                error_dialog=f"replication of {dataset.name} is stuck: {problem}"
            )
    return rule


def no_endpoint_message(expression: str, size: int) -> str:
    if not expression:
        return "the task has no destination and its group none either"
    return f"no available endpoint matching '{expression}' has {size:,} bytes free"


def replicated_bytes(rule: ReplicationRule) -> int:
    return (
        Replica.objects.filter(endpoint=rule.endpoint, file__dataset=rule.dataset).aggregate(b=Sum("file__bytes"))["b"]
        or 0
    )


def replication_advance(*, limit: int = 500) -> int:
    """REPLICATING rules complete: the dataset's files get replicas at the rule's endpoint; returns how many."""
    done = 0
    for rule in ReplicationRule.objects.filter(state=RuleState.REPLICATING, endpoint__isnull=False)[:limit]:
        with transaction.atomic():
            dataset_files = rule.dataset.file_set.values_list("pk", "bytes")
            present = set(
                Replica.objects.filter(endpoint=rule.endpoint, file__dataset=rule.dataset).values_list("file")
            )
            new = [(pk, size) for pk, size in dataset_files if (pk,) not in present]
            Replica.objects.bulk_create([Replica(file_id=pk, endpoint=rule.endpoint) for pk, _ in new])
            StorageEndpoint.objects.filter(pk=rule.endpoint_id).update(
                used_bytes=F("used_bytes") + sum(size for _, size in new)
            )
            done += ReplicationRule.objects.filter(pk=rule.pk, state=RuleState.REPLICATING).update(state=RuleState.OK)
    return done
