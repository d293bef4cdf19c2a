"""The audit trail: who did what to which object, when and why. Every writer and reader goes through here."""

import json

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Model
from django.utils import timezone

from .models import AuditEvent


def audit_record(*, actor, verb: str, obj: Model, comment: str = "", details: dict | None = None) -> AuditEvent:
    """One event about one object (actor None: the system did it)."""
    return AuditEvent.objects.create(
        actor=actor,
        verb=verb,
        content_type=ContentType.objects.get_for_model(type(obj)),
        object_id=obj.pk,
        object_repr=str(obj)[:255],
        comment=comment,
        details=details or {},
    )


def audit_record_many(
    *,
    actor_id,
    verb: str,
    model: type[Model],
    object_ids: list[int],
    comment: str = "",
    details: dict | None = None,
    operation_id: int | None = None,
    name_field: str = "name",
) -> None:
    """One event per object in one statement; with an operation, a redone batch writes no row twice."""
    if not object_ids:
        return
    content_type = ContentType.objects.get_for_model(model)
    details = details or {}
    if connection.vendor == "postgresql":
        return _insert_select(
            actor_id, verb, model, content_type.pk, object_ids, comment, details, operation_id, name_field
        )
    names = dict(model.objects.filter(pk__in=object_ids).values_list("pk", name_field))
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor_id=actor_id,
                verb=verb,
                content_type=content_type,
                object_id=pk,
                object_repr=str(names.get(pk, ""))[:255],
                comment=comment,
                details=details,
                operation_id=operation_id,
            )
            for pk in object_ids
        ],
        ignore_conflicts=True,
    )


def _insert_select(actor_id, verb, model, content_type_id, object_ids, comment, details, operation_id, name_field):
    """The same rows written by the database from the object table: no Python object per row."""
    audit, table = AuditEvent._meta.db_table, model._meta.db_table
    column = model._meta.get_field(name_field).column
    sql = (
        f"INSERT INTO {audit} (actor_id, verb, content_type_id, object_id, object_repr, comment, details, "
        f"operation_id, created) SELECT %s, %s, %s, id, left({column}::text, 255), %s, %s::jsonb, %s, %s "
        f"FROM {table} WHERE id = ANY(%s) ON CONFLICT DO NOTHING"
    )
    params = [actor_id, verb, content_type_id, comment, json.dumps(details), operation_id, timezone.now()]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, list(object_ids)])


def audit_history(obj: Model, *, limit: int | None = None, newest_first: bool = False):
    """An object's events with their actors, oldest first unless asked otherwise."""
    ct = ContentType.objects.get_for_model(type(obj))
    events = AuditEvent.objects.filter(content_type=ct, object_id=obj.pk).select_related("actor")
    events = events.order_by("-created", "-id") if newest_first else events.order_by("id")
    return events[:limit] if limit else events


def audit_by_operation(operation_id: int):
    """The events one bulk operation wrote."""
    return AuditEvent.objects.filter(operation_id=operation_id)
