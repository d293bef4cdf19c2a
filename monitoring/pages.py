"""The request page's progress part, from the request's rollup row: connected to the request page at start-up
(`requests_app.selectors.request_page_parts`), since the requests app sits below monitoring."""

from django.db.models import Count, Sum

from deft.audit import audit_history
from tasks.models import done_fraction

from .models import Dimension, Rollup
from .summary import row_of

# --- request --------------------------------------------------------------------------------------------------


def request_progress(req) -> dict:
    """The request's rollup row, its slices' progress (task counters summed per slice) and its first tasks."""
    rollup = Rollup.objects.filter(dimension=Dimension.REQUEST, key=str(req.pk)).first()
    values = rollup.__dict__ if rollup else {}
    fields = ("events_total", "events_processed", "events_merged", "events_done", "jobs_running", "jobs_failed")
    slices = (
        req.tasks.order_by()
        .values("slice_id", "slice__position", "slice__dataset_name")
        .annotate(tasks=Count("pk"), **{f: Sum(f) for f in fields})
        .order_by("slice__position")
    )
    tasks = req.tasks.select_related("ptag").order_by("id")[:200]
    return {
        "progress_row": row_of(Dimension.REQUEST, str(req.pk), values, {}),
        "slice_rows": [
            {**s, "progress": done_fraction(s["events_merged"] or 0, s["events_total"] or 0)} for s in slices
        ],
        "progress_tasks": tasks,
        "timeline": audit_history(req, limit=100, newest_first=True),
    }
