"""Model fields of our own."""

import json

from django.db import models


class JSONTextField(models.JSONField):
    """JSON kept as plain text on PostgreSQL (as SQLite keeps every JSON field), not as `jsonb`.

    For values only ever written by our code and read whole, in Python (a job's input lumiblocks): the server
    neither parses them nor builds a binary tree, which makes COPYing tens of thousands of job rows markedly
    cheaper. The price: no key or containment lookups in SQL (nobody makes any on these values), and equal
    values compare as equal text (enough for the DISTINCT of filtered lists).
    """

    def db_type(self, connection):
        return "text" if connection.vendor == "postgresql" else super().db_type(connection)

    def get_db_prep_value(self, value, connection, prepared=False):
        adapted = super().get_db_prep_value(value, connection, prepared)
        if connection.vendor != "postgresql" or hasattr(adapted, "as_sql"):
            return adapted
        return json.dumps(adapted.obj, cls=self.encoder)  # the text itself, not the driver's `::jsonb` value
