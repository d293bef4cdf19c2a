"""Inserting many rows fast: PostgreSQL's COPY (ids drawn from the table's sequence first, so callers get
them back), a multi-row INSERT elsewhere or for small batches."""

import json
from collections.abc import Sequence

from django.db import connection

COPY_THRESHOLD = 2000  # from this many rows on, COPY beats a multi-row INSERT by far


def copy_value(value):
    # COPY's text format reads JSON columns from their text; psycopg writes everything else as it is.
    return json.dumps(value) if isinstance(value, list | dict) else value


def reserve_ids(table: str, n: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, n])
        return [row[0] for row in cursor.fetchall()]


def insert_rows(model, fields: Sequence[str], rows: list[tuple]) -> list[int]:
    """Insert `rows` (values for `fields`, by attname: every NOT NULL column) and return their ids in order."""
    if not rows:
        return []
    if connection.vendor != "postgresql" or len(rows) < COPY_THRESHOLD:
        objects = model.objects.bulk_create(
            [model(**dict(zip(fields, row, strict=True))) for row in rows], batch_size=5000
        )
        return [obj.pk for obj in objects]
    table = model._meta.db_table
    columns = {f.attname: f.column for f in model._meta.concrete_fields}
    ids = reserve_ids(table, len(rows))
    names = ", ".join(connection.ops.quote_name(c) for c in ["id", *(columns[f] for f in fields)])
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for pk, row in zip(ids, rows, strict=True):
            copy.write_row((pk, *map(copy_value, row)))
    return ids
