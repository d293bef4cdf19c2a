"""Services that manage the diagnostic rules: create, edit, delete, reorder, switch between active and dry run.

Only production managers may (`manage_rules`); every change is audited. A pattern that does not compile is
refused with `compile_rule_pattern`'s message and nothing is written.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from deft import permissions
from deft.audit import audit_record
from tasks.errors.classification import forget_tables
from tasks.errors.registry import RulePatternError, compile_rule_pattern
from tasks.models import ErrorClass, ErrorRule, ErrorSource

RULE_FIELDS = ("source", "code", "pattern", "new_code", "error_class", "description", "active")


def rule_errors(fields: dict) -> dict[str, list[str]]:
    """What is wrong with a rule's fields, by field name (empty: nothing)."""
    errors: dict[str, list[str]] = {}
    if "pattern" in fields:
        try:
            compile_rule_pattern(fields["pattern"])
        except RulePatternError as exc:
            errors["pattern"] = [str(exc)]
    if "source" in fields and fields["source"] not in ErrorSource.values:
        errors["source"] = [f"{fields['source']!r} is not one of {', '.join(ErrorSource.values)}"]
    if fields.get("error_class") not in (None, "", *ErrorClass.values):
        errors["error_class"] = [f"{fields['error_class']!r} is not one of {', '.join(ErrorClass.values)}"]
    unknown = set(fields) - set(RULE_FIELDS) - {"position"}
    if unknown:
        errors["fields"] = [f"unknown field(s): {', '.join(sorted(unknown))}"]
    return errors


def _check(fields: dict) -> None:
    errors = rule_errors(fields)
    if errors:
        raise ValidationError(errors)


def _audit(actor, verb: str, rule: ErrorRule, details: dict | None = None) -> None:
    audit_record(actor=actor, verb=verb, obj=rule, details=details)


def error_rule_create(*, actor, **fields) -> ErrorRule:
    """A new rule, last in order unless a position is given; dry run unless `active=True`."""
    permissions.require(actor, "manage_rules")
    _check(fields)
    fields["error_class"] = fields.get("error_class") or None
    with transaction.atomic():
        if not fields.get("position"):
            last = ErrorRule.objects.aggregate(p=Max("position"))["p"] or 0
            fields["position"] = last + 1
        rule = ErrorRule.objects.create(created_by=actor, **fields)
        _audit(actor, "create_rule", rule, {f: getattr(rule, f) for f in RULE_FIELDS})
    return rule


def error_rule_update(*, rule: ErrorRule, actor, **changes) -> ErrorRule:
    permissions.require(actor, "manage_rules")
    _check(changes)
    if "error_class" in changes:
        changes["error_class"] = changes["error_class"] or None
    before = {f: getattr(rule, f) for f in changes}
    with transaction.atomic():
        for name, value in changes.items():
            setattr(rule, name, value)
        rule.save()
        _audit(actor, "edit_rule", rule, {"before": before, "after": changes})
    return rule


def error_rule_delete(*, rule: ErrorRule, actor) -> None:
    """Jobs keep their classification; their link to the rule becomes empty."""
    permissions.require(actor, "manage_rules")
    with transaction.atomic():
        _audit(actor, "delete_rule", rule, {f: getattr(rule, f) for f in RULE_FIELDS})
        rule.delete()


def error_rules_reorder(*, actor, rule_ids: list[int]) -> list[int]:
    """Put the given rules first, in that order; the others follow in their current order."""
    permissions.require(actor, "manage_rules")
    with transaction.atomic():
        current = list(ErrorRule.objects.select_for_update().order_by("position", "id").values_list("pk", flat=True))
        missing = [pk for pk in rule_ids if pk not in set(current)]
        if missing:
            raise ValidationError({"rule_ids": [f"no rule with id {', '.join(map(str, missing))}"]})
        order = list(dict.fromkeys(rule_ids)) + [pk for pk in current if pk not in set(rule_ids)]
        now = timezone.now()  # `updated` moves, so other processes reload their cached rules
        for position, pk in enumerate(order, start=1):
            ErrorRule.objects.filter(pk=pk).exclude(position=position).update(position=position, updated=now)
        forget_tables()
        transaction.on_commit(forget_tables)
    return order


def error_rule_move(*, rule: ErrorRule, actor, direction: str) -> list[int]:
    """Move a rule one place up (earlier, tried first) or down."""
    permissions.require(actor, "manage_rules")
    order = list(ErrorRule.objects.order_by("position", "id").values_list("pk", flat=True))
    i = order.index(rule.pk)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(order):
        order[i], order[j] = order[j], order[i]
    return error_rules_reorder(actor=actor, rule_ids=order)
