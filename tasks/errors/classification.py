"""Failure classification and the retry policy: what a failed job's error means and what to do next.

`classify_failure` is called when a job fails and `failure_fields` gives the fields to store on it (the
classification is kept on the job, so its history never changes when rules change later); `decide_retry`
says whether and how its input is tried again; `tasks_check_software_failures` pauses a task whose failures
are mostly software errors and tells its group once.
"""

import time
from dataclasses import dataclass

from django.db.models import Count, Max
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from tasks.errors.registry import Classification, classify, codes_by_key
from tasks.models import ErrorClass, ErrorCode, ErrorRule, Job, RetryAction

MEMORY_STEP_MB = 1000
MEMORY_CAP_MB = 8000
WALLTIME_FACTOR = 1.5
WALLTIME_CAP_S = 48 * 3600
BACKOFF_BASE_S = 300  # service errors: 5 min, 10, 20 ... up to the cap
BACKOFF_CAP_S = 6 * 3600
SOFTWARE_RETRIES = 1  # a software error is retried once elsewhere (it may be the node), then the input gives up
DIAG_MAX_CHARS = 4000
# A worker checks at most this often whether rules or codes changed (two cheap aggregates), so a batch of
# thousands of failures classifies from memory; edits in the same process invalidate at once (signals below).
TABLES_RECHECK_SECONDS = 5.0


# --- the registry and rules, cached per process -------------------------------------------------------

_tables: dict = {"version": None, "codes": None, "rules": None, "checked": float("-inf")}


def forget_tables() -> None:
    """Drop this process's cached codes and rules: the next classification reloads them."""
    _tables.update(version=None, codes=None, rules=None, checked=float("-inf"))


@receiver([post_save, post_delete], sender=ErrorRule)
@receiver([post_save, post_delete], sender=ErrorCode)
def _tables_changed(sender, **kwargs):
    forget_tables()


def _tables_version() -> tuple:
    rules = ErrorRule.objects.aggregate(n=Count("id"), last=Max("updated"))
    codes = ErrorCode.objects.aggregate(n=Count("id"), last=Max("updated"))
    return (rules["n"], rules["last"], codes["n"], codes["last"])


def registry() -> dict:
    """(source, code) -> class, retry action, name; read from the database registry (admins edit it)."""
    rows = ErrorCode.objects.values("source", "code", "name", "error_class", "retry_action")
    return codes_by_key(rows)


def rules_in_order() -> list[dict]:
    """Every rule, active and dry-run, in the order classification tries them."""
    fields = ("id", "source", "code", "pattern", "new_code", "error_class", "active")
    return list(ErrorRule.objects.order_by("position", "id").values(*fields))


def classification_tables() -> tuple[dict, list[dict]]:
    """(codes, rules) from the database, cached in this process and reloaded when either changes."""
    now = time.monotonic()
    if _tables["rules"] is not None and now - _tables["checked"] < TABLES_RECHECK_SECONDS:
        return _tables["codes"], _tables["rules"]
    version = _tables_version()
    if version != _tables["version"] or _tables["rules"] is None:
        _tables.update(version=version, codes=registry(), rules=rules_in_order())
    _tables["checked"] = now
    return _tables["codes"], _tables["rules"]


def classify_failure(*, source: str, code: int | None, diagnostic: str, codes=None, rules=None) -> Classification:
    """Classify one failure with the database's codes and rules (or the ones given)."""
    if codes is None or rules is None:
        db_codes, db_rules = classification_tables()
        codes = db_codes if codes is None else codes
        rules = db_rules if rules is None else rules
    return classify(source=source, code=code, diagnostic=diagnostic, codes=codes, rules=rules)


def failure_fields(classification: Classification, diagnostic: str | None) -> dict:
    """The fields a failed job stores (for `jobs_move(per_job=...)`): values are hashable, so jobs with the
    same error are updated together."""
    rule_id = classification.rule_id if isinstance(classification.rule_id, int) else None
    return {
        "error_source": classification.source,
        "error_code": classification.code,
        "error_original_code": classification.original_code,
        "error_class": classification.error_class,
        "error_diag": (diagnostic or "")[:DIAG_MAX_CHARS],
        "error_rule_id": rule_id,
        "error_dry_run_rules": tuple(classification.dry_run_rule_ids),  # a JSON list once stored
    }


# --- the retry policy ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryDecision:
    retry: bool
    count_failure: bool = True  # does this failure use the input's failure budget?
    avoid_site_id: int | None = None
    memory_mb: int | None = None  # for the next attempt; None: unchanged
    walltime_s: int | None = None  # for the next attempt; None: unchanged
    delay_seconds: int = 0
    reason: str = ""
    failures: int = 0  # the input's counted failures, this one included: store on the job, carry to the retry
    software_failures: int = 0  # likewise, software failures only

    def retry_fields(self, job: Job) -> dict:
        """What the next attempt of `job`'s input changes: counters carried on, more memory or time."""
        return {
            "failures": self.failures,
            "software_failures": self.software_failures,
            "memory_mb": self.memory_mb or job.memory_mb,
            "walltime_s": self.walltime_s or job.walltime_s,
        }


def backoff_seconds(attempt: int) -> int:
    """Exponential by attempt, capped: a central service gets time to recover."""
    return min(BACKOFF_BASE_S * 2 ** max(attempt - 1, 0), BACKOFF_CAP_S)


def decide_retry(*, job: Job, classification: Classification, max_attempts: int, max_failures: int) -> RetryDecision:
    """What to do with a failed job's input, by the class and retry action of its error.

    `job.failures` / `job.software_failures` are the input's counts before this failure (carried from the
    previous attempt); the decision carries the counts including it.
    """
    klass, action = classification.error_class, classification.retry_action
    counted = klass not in (ErrorClass.SITE, ErrorClass.SERVICE) and action not in (
        RetryAction.INCREASE_MEMORY,
        RetryAction.INCREASE_WALLTIME,
    )
    software = klass == ErrorClass.SOFTWARE
    base = dict(
        count_failure=counted,
        failures=job.failures + counted,
        software_failures=job.software_failures + software,
    )
    stop = _why_stop(job, klass, action, base, max_attempts=max_attempts, max_failures=max_failures)
    if stop:
        return RetryDecision(retry=False, reason=stop, **base)
    if klass == ErrorClass.SITE:
        return RetryDecision(retry=True, avoid_site_id=job.site_id, reason="site error: retried elsewhere", **base)
    if klass == ErrorClass.SERVICE:
        delay = backoff_seconds(job.attempt)
        return RetryDecision(retry=True, delay_seconds=delay, reason=f"service error: retried in {delay} s", **base)
    if action == RetryAction.INCREASE_MEMORY:
        memory = min(job.memory_mb + MEMORY_STEP_MB, MEMORY_CAP_MB)
        return RetryDecision(retry=True, memory_mb=memory, reason=f"out of memory: retried with {memory} MB", **base)
    if action == RetryAction.INCREASE_WALLTIME:
        walltime = min(int(job.walltime_s * WALLTIME_FACTOR), WALLTIME_CAP_S)
        return RetryDecision(retry=True, walltime_s=walltime, reason=f"time limit: retried with {walltime} s", **base)
    return RetryDecision(retry=True, avoid_site_id=job.site_id, reason=f"{klass} error: retried elsewhere", **base)


def _why_stop(job, klass, action, counts, *, max_attempts, max_failures) -> str:
    """Why the input is not tried again, or "" if it may be."""
    if action == RetryAction.NO_RETRY or klass == ErrorClass.USER:
        return f"{klass} error: not retried"
    if job.attempt >= max_attempts:
        return f"{job.attempt} attempts used (limit {max_attempts})"
    if counts["software_failures"] > SOFTWARE_RETRIES:
        return f"software error failed {counts['software_failures']} times: not retried again, the input gives up"
    if counts["count_failure"] and counts["failures"] >= max_failures:
        return f"{counts['failures']} failures of this input (limit {max_failures})"
    if action == RetryAction.INCREASE_MEMORY and job.memory_mb >= MEMORY_CAP_MB:
        return f"out of memory at the cap of {MEMORY_CAP_MB} MB"
    if action == RetryAction.INCREASE_WALLTIME and job.walltime_s >= WALLTIME_CAP_S:
        return f"time limit at the cap of {WALLTIME_CAP_S} s"
    return ""
