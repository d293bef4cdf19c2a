"""Failure classification and the retry policy: what a failed job's error means and what to do next.

`classify_failure` is called when a job fails (the classification is stored on the job, so its history never
changes when rules change later); `decide_retry` says whether and how its input is tried again.
"""

from dataclasses import dataclass

from .error_catalog import Classification, classify, codes_by_key
from .models import ErrorClass, ErrorCode, Job, RetryAction

MEMORY_STEP_MB = 1000
MEMORY_CAP_MB = 8000
RETRY_LATER_SECONDS = 300


def registry() -> dict:
    """(source, code) -> class, retry action, name; read from the database registry (admins edit it)."""
    rows = ErrorCode.objects.values("source", "code", "name", "error_class", "retry_action")
    return codes_by_key(rows)


def classify_failure(*, source: str, code: int | None, diagnostic: str, codes=None, rules=()) -> Classification:
    return classify(
        source=source, code=code, diagnostic=diagnostic, codes=codes if codes is not None else registry(), rules=rules
    )


@dataclass(frozen=True)
class RetryDecision:
    retry: bool
    count_failure: bool = True  # does this failure use the input's failure budget?
    avoid_site_id: int | None = None
    memory_mb: int | None = None
    delay_seconds: int = 0
    reason: str = ""


def decide_retry(*, job: Job, classification: Classification, max_attempts: int, max_failures: int) -> RetryDecision:
    """What to do with a failed job's input, by the class and retry action of its error."""
    action, klass = classification.retry_action, classification.error_class
    if job.attempt >= max_attempts:
        return RetryDecision(retry=False, reason=f"{job.attempt} attempts used (limit {max_attempts})")
    site_fault = klass in (ErrorClass.SITE, ErrorClass.SERVICE)
    failures = job.failures if site_fault else job.failures + 1
    if action == RetryAction.NO_RETRY or klass == ErrorClass.USER:
        return RetryDecision(retry=False, reason=f"{klass} error: not retried")
    if failures >= max_failures:
        return RetryDecision(retry=False, reason=f"{failures} failures of this input (limit {max_failures})")
    if action == RetryAction.RETRY_ELSEWHERE:
        return RetryDecision(retry=True, count_failure=not site_fault, avoid_site_id=job.site_id, reason="site error")
    if action == RetryAction.RETRY_LATER:
        return RetryDecision(retry=True, count_failure=False, delay_seconds=RETRY_LATER_SECONDS, reason="service")
    if action == RetryAction.INCREASE_MEMORY:
        memory = min(job.memory_mb + MEMORY_STEP_MB, MEMORY_CAP_MB)
        if memory == job.memory_mb:
            return RetryDecision(retry=False, reason=f"memory already at the cap of {MEMORY_CAP_MB} MB")
        return RetryDecision(retry=True, memory_mb=memory, reason="out of memory: more memory")
    if action == RetryAction.LIMIT_RETRY and klass == ErrorClass.SOFTWARE and job.failures >= 1:
        return RetryDecision(retry=False, reason="software error failed twice: not retried blindly")
    return RetryDecision(retry=True, avoid_site_id=job.site_id, reason=f"{klass} error")


def failure_fields(classification: Classification, diagnostic: str) -> dict:
    """The fields a failed job keeps about its failure: one place, so that richer classifications add theirs."""
    return {
        "error_source": classification.source,
        "error_code": classification.code,
        "error_diag": (diagnostic or "")[:4000],
        "error_class": classification.error_class,
    }
