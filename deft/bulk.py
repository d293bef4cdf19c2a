"""Insert many rows fast: PostgreSQL COPY with ids taken from the sequence first; bulk_create elsewhere.

Two ways in, one way down:
- `bulk_insert(Model, rows)` takes plain dicts of field attnames (no model instances: building 10,000 of
  those costs more than the COPY itself) and fills every other column with the field's default, so fields
  added to a model later keep callers working.
- `bulk_insert_values(Model, fields, rows)` takes tuples of values for `fields` (attnames, every NOT NULL
  column without a database default): the fast path for tens of thousands of rows (jobs, their outputs).
Both return the new ids in the order of `rows`.

The COPY text is built column by column: each distinct value of a column is encoded once (most columns of
a batch hold a handful of values: defaults, one timestamp, a few foreign keys), JSON columns go through
json.dumps, and rows are joined in C. It is sent in chunks, so PostgreSQL works on one chunk while Python
encodes the next.
"""

import json
from collections.abc import Sequence
from itertools import islice
from json.encoder import c_make_encoder, encode_basestring_ascii

from django.db import connection
from django.db.models import JSONField
from django.utils import timezone

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = "\\N"
CHUNK = 5000  # rows per write: big enough to amortise the calls, small enough to overlap with the server


def bulk_insert(model, rows: list[dict], *, batch_size: int = 5000) -> list[int]:
    """Insert `rows` (dicts of attname -> value) and return their ids, in order."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        created = model.objects.bulk_create([model(**row) for row in rows], batch_size=batch_size)
        return [obj.pk for obj in created]
    fields = _insert_fields(model)
    columns = [_dict_column(f, rows) for f in fields]
    ids = next_ids(model, len(rows))
    _copy(model, fields, ids, columns)
    return ids


def bulk_insert_values(
    model, fields: Sequence[str], rows: list[tuple], *, batch_size: int = 5000, returning: bool = True
) -> list[int]:
    """Insert `rows` (tuples of values for the attnames `fields`) and return their ids, in order.

    With `returning=False` nobody needs the ids: on PostgreSQL the table's identity default gives them, with no
    round trip to draw them first, and an empty list comes back."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        objects = [model(**dict(zip(fields, row, strict=True))) for row in rows]
        created = model.objects.bulk_create(objects, batch_size=batch_size)
        return [obj.pk for obj in created] if returning else []
    by_name = {f.attname: f for f in model._meta.concrete_fields}
    ids = next_ids(model, len(rows)) if returning else None
    _copy(model, [by_name[name] for name in fields], ids, list(zip(*rows, strict=True)))
    return ids or []


def int_array(values) -> str:
    """A PostgreSQL array literal of integers, for a `%s::bigint[]` parameter: psycopg's own list quoting
    checks every element with a regex, which costs more than the statement for thousands of ids."""
    return "{" + ",".join(map(str, map(int, values))) + "}"


def next_ids(model, count: int) -> list[int]:
    """`count` fresh ids from the table's sequence, ascending. One round trip; when they are contiguous (no
    other session drew ids meanwhile, the usual case) only their bounds come back."""
    with connection.cursor() as cursor:
        cursor.execute(
            # The sequence is named as a constant (`'name'::regclass` is resolved once, at planning): by text,
            # nextval would look it up again for every id. The array is built (and sorted) only when the ids
            # are not contiguous: a sub-select in a CASE branch runs only if that branch is taken.
            "WITH s AS MATERIALIZED (SELECT nextval(%s::regclass) AS v FROM generate_series(1, %s)),"
            " b AS (SELECT min(v) AS low, max(v) AS high, count(*) AS n FROM s) "
            "SELECT low, high, CASE WHEN high - low + 1 = n THEN NULL "
            "ELSE (SELECT array_agg(v ORDER BY v) FROM s) END FROM b",
            [_sequence_of(model, cursor), count],
        )
        low, high, scattered = cursor.fetchone()
    return scattered if scattered is not None else list(range(low, high + 1))


_SEQUENCES: dict[tuple, str] = {}


def _sequence_of(model, cursor) -> str:
    """The name of the sequence behind the model's primary key (asked once per database and table)."""
    table, column = model._meta.db_table, model._meta.pk.column
    key = (connection.settings_dict["NAME"], table, column)
    if key not in _SEQUENCES:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, column])
        _SEQUENCES[key] = cursor.fetchone()[0]
    return _SEQUENCES[key]


def copy_lines(model, rows: list[dict], ids: list[int]) -> tuple[list[str], str]:
    """The columns and COPY text of `rows` (dicts) with the given ids; unset fields take their defaults."""
    fields = _insert_fields(model)
    text = "".join(_chunks(fields, ids, [_dict_column(f, rows) for f in fields]))
    return [model._meta.pk.column, *(f.column for f in fields)], text


def copy_text(model, columns: list[str], text: str) -> None:
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        sql = f"COPY {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
        with cursor.copy(sql) as copy:
            copy.write(text)


def _copy(model, fields, ids: list[int] | None, columns: list[Sequence]) -> None:
    """COPY the rows (given as columns); without ids, the table's identity default numbers them."""
    quote = connection.ops.quote_name
    names = [f.column for f in fields] if ids is None else [model._meta.pk.column, *(f.column for f in fields)]
    sql = f"COPY {quote(model._meta.db_table)} ({', '.join(quote(c) for c in names)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for text in _chunks(fields, ids, columns):
            copy.write(text)


def _chunks(fields, ids: list[int] | None, columns: list[Sequence]):
    """COPY text of the rows (given as columns), CHUNK rows at a time; the ids first, if given."""
    encoders = [_encoder(f) for f in fields]
    count = len(ids) if ids is not None else len(columns[0])
    for start in range(0, count, CHUNK):
        cells = [] if ids is None else [map(str, ids[start : start + CHUNK])]
        cells += [map(encode, islice(col, start, start + CHUNK)) for encode, col in zip(encoders, columns, strict=True)]
        yield "\n".join(map("\t".join, zip(*cells, strict=True))) + "\n"


def _insert_fields(model) -> list:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def _dict_column(field, rows: list[dict]) -> list:
    name = field.attname
    if all(name in row for row in rows):
        return [row[name] for row in rows]
    default = _default_of(field)
    return [row.get(name, default) for row in rows]


def _default_of(field):
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return timezone.now()
    return field.get_default()


class _Encoded(dict):
    """value -> its COPY text, computed once per distinct value of a column."""

    def __missing__(self, value):
        text = self[value] = _encode(value)
        return text


def _encoder(field):
    if isinstance(field, JSONField):
        dumps = _json_dumps(field.encoder)

        def encode_json(value):
            if value is None:
                return NULL
            if not value and type(value) in (list, dict):  # the usual defaults, most rows
                return "[]" if type(value) is list else "{}"
            return dumps(value).replace("\\", "\\\\")

        return encode_json
    return _Encoded().__getitem__


def _json_dumps(encoder_class):
    """A compact JSON encoder built once for a column, not once a row. With the standard encoder, its C
    implementation is called directly: `JSONEncoder.encode` would build a new one for every value."""
    encoder = (encoder_class or json.JSONEncoder)(separators=(",", ":"))
    if encoder_class is not None or c_make_encoder is None:
        return encoder.encode
    c_encode = c_make_encoder(
        None, encoder.default, encode_basestring_ascii, None, ":", ",", False, False, True
    )  # the arguments JSONEncoder.iterencode passes (check_circular off: job inputs are plain lists)
    return lambda value: "".join(c_encode(value, 0))


def _encode(value) -> str:
    """A value in COPY's text format."""
    if value is None:
        return NULL
    if value is True or value is False:
        return "t" if value else "f"
    if hasattr(value, "isoformat"):  # dates and times: str() of a datetime would do too, isoformat is explicit
        value = value.isoformat()
    return str(value).translate(_ESCAPES)
