"""`*` wildcard patterns as a database lookup (`name__glob="mc14_8TeV.*.AOD.*"`).

Served by a trigram index on PostgreSQL (ILIKE) and by LIKE on SQLite (case-insensitive for ASCII there too).
"""

from django.db.models import CharField, Lookup


def glob_to_like(pattern: str) -> str:
    """Translate a `*`/`?` pattern into a LIKE pattern, escaping LIKE's own wildcards."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


@CharField.register_lookup
class Glob(Lookup):
    lookup_name = "glob"

    def get_db_prep_lookup(self, value, connection):
        return ("%s", [glob_to_like(value)])

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        op = "ILIKE" if connection.vendor == "postgresql" else "LIKE"
        return f"{lhs} {op} {rhs} ESCAPE '\\'", lhs_params + rhs_params
