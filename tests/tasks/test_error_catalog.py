"""Error-code registry: seed data, diagnostic rules and classification (no Django needed)."""

import csv
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasks.errors.registry import (
    DATA_DIR,
    ERROR_CLASSES,
    MAX_PATTERN_LENGTH,
    RETRY_ACTIONS,
    SOURCES,
    Classification,
    RulePatternError,
    classify,
    codes_by_key,
    compile_rule_pattern,
    default_rules,
    seed_rows,
)

ROWS = seed_rows()
CODES = codes_by_key(ROWS)
RULES = default_rules()

with (DATA_DIR / "classification.csv").open(newline="", encoding="utf-8") as _handle:
    TABLE = list(csv.DictReader(_handle))


def run(source, code, diagnostic="", rules=RULES, codes=CODES) -> Classification:
    return classify(source=source, code=code, diagnostic=diagnostic, codes=codes, rules=rules)


# --- seed data -----------------------------------------------------------------------------------------


def test_no_duplicate_source_code():
    keys = [(r["source"], r["code"]) for r in ROWS]
    assert len(keys) == len(set(keys))


def test_every_row_is_complete_and_in_the_allowed_sets():
    for row in ROWS:
        assert set(row) == {"source", "code", "name", "description", "error_class", "retry_action"}
        assert row["source"] in SOURCES, row
        assert isinstance(row["code"], int), row
        assert row["name"] and row["description"], row
        assert row["error_class"] in ERROR_CLASSES, row
        assert row["retry_action"] in RETRY_ACTIONS, row


def test_seed_covers_every_pilot_and_trf_code_and_our_sources():
    # 147 pilot + 73 trf rows, minus one for trf 251 listed twice.
    assert sum(r["source"] == "pilot" for r in ROWS) == 147
    assert sum(r["source"] == "trf" and r["code"] < 2000 for r in ROWS) == 72
    assert {r["source"] for r in ROWS} == set(SOURCES)


def test_trf_251_keeps_the_last_name_as_the_transform_does():
    assert CODES[("trf", 251)]["name"] == "TRF_EXTERNAL"


@pytest.mark.parametrize("entry", TABLE, ids=[f"{r['source']}-{r['code']}-{r['name']}" for r in TABLE])
def test_every_seeded_code_classifies_as_the_table_says(entry):
    result = run(entry["source"], int(entry["code"]), "")
    assert result.error_class == entry["proposed_class"]
    assert result.code == int(entry["code"]) and result.rule_id is None
    assert result.retry_action == CODES[(entry["source"], int(entry["code"]))]["retry_action"]


@pytest.mark.parametrize(
    ("source", "code", "action"),
    [
        ("pilot", 1212, "increase_memory"),  # PAYLOADOUTOFMEMORY
        ("pilot", 1235, "increase_memory"),  # PAYLOADEXCEEDMAXMEM
        ("pilot", 1223, "increase_memory"),  # BADALLOC
        ("trf", 137, "increase_memory"),  # SIGKILL
        ("pilot", 1213, "increase_walltime"),  # REACHEDMAXTIME
        ("trf", 152, "increase_walltime"),  # SIGXCPU
        ("trf", 67, "increase_walltime"),  # TRF_EXEC_TIMEOUT
        ("pilot", 1104, "limit_retry"),  # USERDIRTOOLARGE: a disk limit, not memory
        ("pilot", 1099, "retry_elsewhere"),  # STAGEINFAILED: site
        ("pilot", 1316, "retry_later"),  # RUCIOSERVICEUNAVAILABLE: service
        ("trf", 65, "limit_retry"),  # software
        ("trf", 7, "no_retry"),  # TRF_ARG_ERROR: user
        ("trf", 253, "limit_retry"),  # unknown
        ("pilot", 1144, "no_retry"),  # PANDAKILL: a control code, not a fault
        ("pilot", 1234, "no_retry"),  # EXECUTEDCLONEJOB
        ("executor", 2, "no_retry"),  # killed on abort
        ("executor", 1, "retry_elsewhere"),  # lost heartbeat
        ("ddm", 1, "retry_later"),  # transfer failed
    ],
)
def test_retry_actions_refine_the_class(source, code, action):
    assert run(source, code).retry_action == action


def test_unknown_code_is_unknown_and_limit_retry():
    result = run("pilot", 4242, "anything")
    assert (result.error_class, result.retry_action, result.name) == ("unknown", "limit_retry", "")


# --- default rules on realistic diagnostics ------------------------------------------------------------

# Cause -> (trf split code, pilot split code or None, class, diagnostics as the payload reports them).
CAUSES = {
    "input_open": (
        2001,
        1361,
        "site",
        [
            'Logfile error in log.AODtoDAOD: "PoolSvc ERROR Failed to open file root://eosatlas.cern.ch//eos/'
            'atlas/atlasdatadisk/rucio/mc14_8TeV/2a/1f/AOD.04425341._000123.pool.root.1"',
            "Error in <TNetXNGFile::Open>: [ERROR] Server responded with an error: [3010] Unable to open "
            "file /atlas/rucio/mc14_8TeV:AOD.04425341._000123.pool.root.1; Permission denied",
        ],
    ),
    "time_limit": (
        2002,
        1213,
        "resource",
        [
            "Transform substep AODtoDAOD received SIGXCPU: CPU time limit exceeded",
            # A hard wall-time kill uses SIGKILL too: the time rule must come before the memory rule.
            "batch system: job exceeded its wall-clock time limit of 172800 s and was killed with SIGKILL",
        ],
    ),
    "out_of_memory": (
        2003,
        1212,
        "resource",
        [
            "Non-zero return code from AODtoDAOD (137); athena.py killed by signal 9 (SIGKILL)",
            "Memory cgroup out of memory: Killed process 48213 (athena.py) total-vm:9123456kB",
            # An allocation failure aborts the program: memory must win over the exception rule.
            "terminate called after throwing an instance of 'std::bad_alloc'\n  what():  std::bad_alloc",
        ],
    ),
    "segfault": (
        2004,
        1328,
        "software",
        [
            "AODtoDAOD got a SIGSEGV signal\n *** Break *** segmentation violation\n"
            " Stack trace (most recent call first):\n #0 0x00007f3a in DerivationFramework::SUSY1Thinning",
            "Caught signal 11(Segmentation fault). Details: errno = 0, signo = 11, code = 1 "
            "(address not mapped to object)",
        ],
    ),
    "exception": (
        2005,
        None,
        "software",
        [
            'Traceback (most recent call last):\n  File "/cvmfs/atlas.cern.ch/repo/sw/software/19.1/'
            'AtlasDerivation/19.1.4.7/InstallArea/jobOptions/DerivationFrameworkSUSY/SUSY1.py", line 42\n'
            "AttributeError: 'NoneType' object has no attribute 'ContainerName'",
            "terminate called after throwing an instance of 'SG::ExcBadAuxVar'\n"
            "  what():  SG::ExcBadAuxVar: Attempt to retrieve nonexistent aux data item",
        ],
    ),
    "killed_by_signal": (
        2006,
        1200,
        "site",
        [
            "athena.py received signal 15 (SIGTERM): the batch system is draining the node",
            "Job slot preempted by the batch system, payload got SIGUSR2",
        ],
    ),
    "output_missing": (
        2007,
        1165,
        "software",
        [
            "Expected output file DAOD_SUSY1.04425341._000123.pool.root.1 was not found after substep AODtoDAOD",
            "TRF_OUTPUT_FILE_ERROR: output file DAOD_PHYS.pool.root does not exist",
        ],
    ),
}
TRF_CATCH_ALLS = [65, 68, 253]
PILOT_CATCH_ALLS = [1305, 1315]
SPLIT_CASES = [
    (cause, i, source, code)
    for cause, (_, _, _, diagnostics) in CAUSES.items()
    for i in range(len(diagnostics))
    for source, code in [("trf", c) for c in TRF_CATCH_ALLS] + [("pilot", c) for c in PILOT_CATCH_ALLS]
]


@pytest.mark.parametrize(("cause", "index", "source", "code"), SPLIT_CASES)
def test_default_rules_split_the_catch_alls(cause, index, source, code):
    trf_code, pilot_code, error_class, diagnostics = CAUSES[cause]
    result = run(source, code, diagnostics[index])
    new_code = trf_code if source == "trf" else pilot_code
    if new_code is None:  # no pilot code for this cause: the pilot catch-all (software) stays
        assert (result.code, result.rule_id, result.error_class) == (code, None, "software")
        return
    assert (result.code, result.original_code, result.error_class) == (new_code, code, error_class)
    assert result.rule_id is not None
    assert result.name == CODES[(source, new_code)]["name"]


def test_unknown_transexitcode_hides_three_causes_that_now_get_three_codes_and_classes():
    reports = [
        "Unknown transexitcode 253; " + CAUSES["input_open"][3][1],
        "Unknown transexitcode 253; " + CAUSES["out_of_memory"][3][1],
        "Unknown transexitcode 253; " + CAUSES["segfault"][3][1],
    ]
    results = [run("trf", 253, text) for text in reports]
    assert [(r.code, r.error_class, r.retry_action) for r in results] == [
        (2001, "site", "retry_elsewhere"),
        (2003, "resource", "increase_memory"),
        (2004, "software", "limit_retry"),
    ]


@pytest.mark.parametrize("code", TRF_CATCH_ALLS)
def test_an_unexplained_catch_all_stays_as_it_is(code):
    result = run("trf", code, f"Non-zero return code from AODtoDAOD ({code})")
    assert (result.code, result.rule_id, result.error_class) == (
        code,
        None,
        CODES[("trf", code)]["error_class"],
    )


def test_rules_only_touch_their_own_source_and_code():
    segfault = CAUSES["segfault"][3][0]
    assert run("trf", 139, segfault).rule_id is None  # already specific
    assert run("ddm", 253, segfault).error_class == "unknown"  # not a ddm code, no ddm rule


def test_default_rules_are_well_formed():
    assert [r["position"] for r in RULES] == list(range(1, len(RULES) + 1))
    for rule in RULES:
        compile_rule_pattern(rule["pattern"])
        assert rule["active"] is True
        # The rule's class must agree with the code it rewrites to, or the table and the rule disagree.
        assert CODES[(rule["source"], rule["new_code"])]["error_class"] == rule["error_class"], rule
    assert {(r["source"], r["code"]) for r in RULES} == {("trf", 65), ("trf", 68), ("trf", 253)} | {
        ("pilot", 1305),
        ("pilot", 1315),
    }


# --- dry-run rules, rule objects, bad patterns ---------------------------------------------------------


def rule(rule_id, pattern, new_code, active=True, code=65, error_class=None, source="trf"):
    return SimpleNamespace(
        id=rule_id,
        source=source,
        code=code,
        pattern=pattern,
        new_code=new_code,
        error_class=error_class,
        active=active,
    )


def test_dry_run_rules_change_nothing_but_record_their_match():
    rules = [rule(1, "segmentation", 2004, active=False), rule(2, "violation", 2007, active=False)]
    result = run("trf", 65, "*** Break *** segmentation violation", rules=rules)
    assert (result.code, result.error_class, result.rule_id) == (65, "software", None)
    assert result.dry_run_rule_ids == (1, 2)


def test_dry_run_rules_are_recorded_before_and_after_the_active_match():
    rules = [
        rule(1, "segmentation", 2007, active=False),
        rule(2, "not in the text", 2002, active=False),
        rule(3, "Break", 2003),  # active: applies
        rule(4, "violation", 2001),  # active but after the first active match: ignored
        rule(5, "violation", 2006, active=False),
    ]
    result = run("trf", 65, "*** Break *** segmentation violation", rules=rules)
    assert (result.code, result.error_class, result.rule_id) == (2003, "resource", 3)
    assert result.retry_action == "increase_memory"
    assert result.dry_run_rule_ids == (1, 5)


def test_rule_class_overrides_the_new_codes_class_and_none_takes_it():
    override = run("trf", 65, "boom", rules=[rule(7, "boom", 2004, error_class="site")])
    assert (override.code, override.error_class, override.retry_action) == (2004, "site", "retry_elsewhere")
    taken = run("trf", 65, "boom", rules=[rule(7, "boom", 2004)])
    assert (taken.error_class, taken.retry_action) == ("software", "limit_retry")


def test_rule_with_any_code_of_its_source():
    result = run("ddm", 1, "quota exceeded on GROUPDISK", rules=[rule(9, "quota", 3, code=None, source="ddm")])
    assert (result.code, result.name, result.error_class) == (3, "QUOTAEXCEEDED", "service")


def test_a_broken_rule_is_skipped_at_classify_time():
    rules = [rule(1, "(unclosed", 2004), rule(2, "", 2004), rule(3, "Break", 2001)]
    assert run("trf", 65, "*** Break ***", rules=rules).rule_id == 3


@pytest.mark.timeout(60)  # a backtracking engine would not finish: 3-5 s at 30 characters, x2.7 per two more
def test_a_rule_that_would_backtrack_forever_classifies_a_long_diagnostic_at_once():
    rules = [rule(1, r"(\w+\s?)+!", 99, active=False)]
    diagnostic = "Segmentation fault in the skimming tool " * 50  # 2,000 characters and no "!"
    result = run("trf", 65, diagnostic, rules=rules)
    assert (result.code, result.dry_run_rule_ids) == (65, ())


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("(?i)signal\\s+(\\d+", "pattern does not compile: missing ): (?i)signal\\s+(\\d+"),
        ("SIG[TERM", "pattern does not compile: missing ]: [TERM"),
        ("*core", "pattern does not compile: no argument for repetition operator: *"),
        (
            "(core)\\1",
            "pattern does not compile: invalid escape sequence: \\1 (rules match in linear time with RE2: "
            "no back-references, no look-around)",
        ),
        (
            "(?<=signal )11",
            "pattern does not compile: invalid perl operator: (?<= (rules match in linear time with RE2: "
            "no back-references, no look-around)",
        ),
        ("", "pattern is empty"),
        ("   ", "pattern is empty"),
        (
            "x" * (MAX_PATTERN_LENGTH + 1),
            f"pattern is too long: 501 characters (at most {MAX_PATTERN_LENGTH})",
        ),
        ("segfault|", "pattern matches an empty diagnostic, so it would match every failure"),
        (None, "pattern must be text, not NoneType"),
    ],
)
def test_a_bad_pattern_is_refused_with_a_clear_message(pattern, message):
    with pytest.raises(RulePatternError) as info:
        compile_rule_pattern(pattern)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


# --- properties ----------------------------------------------------------------------------------------

SEEDED_KEYS = sorted(CODES)


@given(
    key=st.sampled_from(SEEDED_KEYS + [("trf", 65), ("trf", 253), ("pilot", 1305), ("ddm", 99999)]),
    diagnostic=st.one_of(st.none(), st.text(), st.text(alphabet="SIGKLTERMsegfault 0123456789()\n*")),
)
def test_classify_never_raises_on_arbitrary_text(key, diagnostic):
    rules = RULES + [rule(99, "(broken", 1), rule(100, ".", 2005, active=False, code=None)]
    result = run(*key, diagnostic, rules=rules)
    assert result.error_class in ERROR_CLASSES
    assert result.retry_action in RETRY_ACTIONS


@given(st.text(max_size=60))
def test_compile_rule_pattern_returns_or_refuses_nothing_else(pattern):
    try:
        compile_rule_pattern(pattern)
    except RulePatternError as exc:
        assert str(exc)
