"""Failures are classified from the database registry and rules; dry-run rules only record their match."""

import pytest

from tasks.engine.moves import jobs_create, jobs_move
from tasks.errors import rules as error_rules
from tasks.errors.classification import classify_failure, failure_fields
from tasks.errors.registry import default_rules, seed_rows
from tasks.models import ErrorCode, ErrorRule, Job
from tests.factories import ProductionTaskFactory, SiteFactory

# A diagnostic each default rule is meant to catch, by the new trf code of its split.
EXAMPLES = {
    2001: "PoolSvc ERROR Could not open input file root://eosatlas//eos/AOD.01234._000001.pool.root.1",
    2002: "Payload received SIGXCPU: CPU time limit exceeded",
    2003: "terminate: std::bad_alloc while reading event 1234",
    2004: "Segmentation fault in Athena; stack trace follows",
    2005: "Traceback (most recent call last):\n  File 'x.py', line 3\nKeyError: 'el_pt'",
    2006: "Job killed by the batch system (SIGTERM)",
    2007: "Expected output file DAOD_SUSY1.pool.root was not produced",
}
TRF_OF_PILOT = {1361: 2001, 1213: 2002, 1212: 2003, 1328: 2004, 1200: 2006, 1165: 2007}


def example_for(rule: ErrorRule) -> str:
    new = rule.new_code if rule.source == "trf" else TRF_OF_PILOT[rule.new_code]
    return EXAMPLES[new]


def test_every_seeded_code_classifies_as_the_registry_says(db):
    for row in seed_rows():
        got = classify_failure(source=row["source"], code=row["code"], diagnostic="")
        assert (got.error_class, got.retry_action) == (row["error_class"], row["retry_action"]), row


def test_an_admin_edit_of_a_code_changes_the_next_classification(db):
    assert classify_failure(source="executor", code=7, diagnostic="").error_class == "service"
    code = ErrorCode.objects.get(source="executor", code=7)
    code.error_class, code.retry_action = "site", "retry_elsewhere"
    code.save()
    assert classify_failure(source="executor", code=7, diagnostic="").error_class == "site"


def test_the_default_rules_are_seeded_in_order(db):
    seeded = list(ErrorRule.objects.order_by("position").values_list("source", "code", "new_code", "active"))
    assert seeded == [(r["source"], r["code"], r["new_code"], r["active"]) for r in default_rules()]


def test_each_default_rule_splits_its_catch_all_as_intended(db):
    registry = {(r["source"], r["code"]): r for r in seed_rows()}
    for rule in ErrorRule.objects.order_by("position"):
        got = classify_failure(source=rule.source, code=rule.code, diagnostic=example_for(rule))
        assert (got.code, got.original_code, got.error_class) == (rule.new_code, rule.code, rule.error_class), rule
        assert got.rule_id == rule.pk
        assert got.retry_action == registry[(rule.source, rule.new_code)]["retry_action"]


def test_a_catch_all_without_a_known_cause_stays_what_it_was(db):
    got = classify_failure(source="trf", code=65, diagnostic="something nobody has seen before")
    assert (got.code, got.rule_id, got.dry_run_rule_ids) == (65, None, ())


def test_a_dry_run_rule_changes_nothing_but_records_its_match(db, prodmgr):
    diagnostic = "XRDCRIT marker; " + EXAMPLES[2001]
    before = classify_failure(source="trf", code=65, diagnostic=diagnostic)
    dry = error_rules.error_rule_create(
        actor=prodmgr, source="trf", code=65, pattern="XRDCRIT", new_code=2004, error_class="software", position=1
    )
    assert not dry.active  # new rules start as a dry run
    after = classify_failure(source="trf", code=65, diagnostic=diagnostic)
    assert (after.code, after.error_class, after.retry_action, after.rule_id) == (
        before.code,
        before.error_class,
        before.retry_action,
        before.rule_id,
    )
    assert after.dry_run_rule_ids == (dry.pk,)

    task = ProductionTaskFactory()
    [job] = jobs_create(jobs=[Job(task=task, site=SiteFactory())])
    jobs_move(job_ids=[job.pk], move="assign")
    jobs_move(job_ids=[job.pk], move="fail", per_job={job.pk: failure_fields(after, diagnostic)})
    job.refresh_from_db()
    assert (job.error_code, job.error_original_code, job.error_class) == (2001, 65, "site")
    assert job.error_rule_id == before.rule_id and job.error_dry_run_rules == [dry.pk]


def test_activating_a_rule_takes_effect_on_the_next_failure(db, prodmgr):
    rule = error_rules.error_rule_create(
        actor=prodmgr, source="trf", code=65, pattern="XRDCRIT", new_code=2004, error_class="software", position=1
    )
    error_rules.error_rules_reorder(actor=prodmgr, rule_ids=[rule.pk])
    error_rules.error_rule_update(rule=rule, actor=prodmgr, active=True)
    got = classify_failure(source="trf", code=65, diagnostic="XRDCRIT; " + EXAMPLES[2001])
    assert (got.code, got.error_class, got.rule_id) == (2004, "software", rule.pk)


def test_a_job_keeps_its_classification_when_the_rule_changes_later(db, prodmgr):
    task = ProductionTaskFactory()
    [job] = jobs_create(jobs=[Job(task=task)])
    jobs_move(job_ids=[job.pk], move="assign")
    got = classify_failure(source="trf", code=65, diagnostic=EXAMPLES[2004])
    jobs_move(job_ids=[job.pk], move="fail", per_job={job.pk: failure_fields(got, EXAMPLES[2004])})
    rule = ErrorRule.objects.get(pk=got.rule_id)
    error_rules.error_rule_update(rule=rule, actor=prodmgr, error_class="site", new_code=2006)
    job.refresh_from_db()
    assert (job.error_code, job.error_class, job.error_rule_id) == (2004, "software", rule.pk)


def test_a_batch_of_failures_classifies_without_a_query_per_job(db, django_assert_max_num_queries):
    classify_failure(source="trf", code=65, diagnostic="")  # loads the tables
    with django_assert_max_num_queries(0):
        for i in range(2000):
            classify_failure(source="trf", code=65, diagnostic=EXAMPLES[2001 + i % 7])


@pytest.mark.parametrize(
    "pattern, message",
    [("(unclosed", "does not compile"), ("a|", "matches an empty diagnostic"), ("", "pattern is empty")],
)
def test_a_rule_whose_pattern_is_broken_is_refused_by_the_service(db, prodmgr, pattern, message):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match=message):
        error_rules.error_rule_create(actor=prodmgr, source="trf", code=65, pattern=pattern, new_code=2004)
    assert not ErrorRule.objects.filter(pattern=pattern).exists()
