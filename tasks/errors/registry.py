"""Error-code registry: seed data and classification (pure Python, no Django).

A failed job carries a source (``pilot``, ``trf``, ``executor``, ``ddm``), a code and a diagnostic text.
``classify`` turns them into an error class and a retry action. Ordered diagnostic rules first split the
catch-all codes (trf 65/68/253 "Unknown transexitcode", pilot 1305/1315) into specific codes by regular
expressions on the diagnostic, because one catch-all hides causes that need opposite handling: a segfault
(software: tell the group), an input file that cannot be opened (site: retry elsewhere), an OOM kill
(resource: retry with more memory).

Data lives in ``error_data/`` next to this module; its README says where each table comes from.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import re2

__all__ = [
    "ERROR_CLASSES",
    "MAX_PATTERN_LENGTH",
    "RETRY_ACTIONS",
    "SOURCES",
    "Classification",
    "RulePatternError",
    "classify",
    "codes_by_key",
    "compile_rule_pattern",
    "default_retry_action",
    "default_rules",
    "retry_action_for",
    "seed_rows",
]

DATA_DIR = Path(__file__).parent / "data"

SOURCES = ("pilot", "trf", "executor", "ddm")
ERROR_CLASSES = ("software", "site", "service", "resource", "user", "unknown")
RETRY_ACTIONS = (
    "retry_elsewhere",
    "retry_later",
    "increase_memory",
    "increase_walltime",
    "limit_retry",
    "no_retry",
)

MAX_PATTERN_LENGTH = 500
RE2_OPTIONS = re2.Options()
RE2_OPTIONS.log_errors = False  # the refusal says why; RE2 need not print it on stderr too
RE2_OPTIONS.max_mem = 8 << 20  # a pattern whose automaton outgrows this is refused when it is saved
# Rules read only this many leading characters: PanDA diagnostics are at most ~500 characters, and the bound
# keeps a badly backtracking pattern from stalling classification on a pasted log excerpt.
DIAGNOSTIC_SCAN_LIMIT = 4000

_CLASS_ACTIONS = {
    "software": "limit_retry",  # it will most likely fail again: a few attempts, then tell the group
    "site": "retry_elsewhere",
    "service": "retry_later",
    # Only memory and time can be raised automatically (see the code sets below); a disk or file-size limit
    # needs smaller jobs, which is a person's decision.
    "resource": "limit_retry",
    "user": "no_retry",
    "unknown": "limit_retry",
}

_MEMORY_CODES = {("pilot", 1212), ("pilot", 1223), ("pilot", 1235), ("trf", 137)}
_TIME_CODES = {("pilot", 1204), ("pilot", 1213), ("trf", 67), ("trf", 152)}
# Control codes that report an event, not a fault (kills on request, clones, internal signals): retrying
# would undo a decision or repeat nothing. trf 1 NEEDCHECK explicitly asks for a person.
_NO_RETRY_CODES = {
    ("pilot", 1144),
    ("pilot", 1205),
    ("pilot", 1234),
    ("pilot", 1238),
    ("pilot", 1336),
    ("pilot", 1363),
    ("pilot", 1370),
    ("pilot", 1375),
    ("pilot", 1385),
    ("trf", 0),
    ("trf", 1),
}


class RulePatternError(ValueError):
    """A diagnostic rule's pattern cannot be used."""


@dataclass(frozen=True)
class Classification:
    source: str
    code: int  # after a rule rewrote it
    original_code: int
    error_class: str
    retry_action: str
    name: str  # empty when (source, code) is not in the table
    rule_id: Any  # the active rule that applied (its id, else its position), or None
    dry_run_rule_ids: tuple = ()  # inactive rules that matched, in rule order


def default_retry_action(error_class: str) -> str:
    return _CLASS_ACTIONS.get(error_class, "limit_retry")


def retry_action_for(source: str, code: int, error_class: str) -> str:
    """The retry action for a code of a class: the class default, refined for known codes."""
    key = (source, code)
    if key in _NO_RETRY_CODES:
        return "no_retry"
    if error_class == "resource" and key in _MEMORY_CODES:
        return "increase_memory"
    if error_class == "resource" and key in _TIME_CODES:
        return "increase_walltime"
    return default_retry_action(error_class)


# --- seed data -----------------------------------------------------------------------------------------


def _read(filename: str) -> list[dict[str, str]]:
    with (DATA_DIR / filename).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _row(source: str, code: int, name: str, description: str, error_class: str, retry_action: str) -> dict:
    return {
        "source": source,
        "code": code,
        "name": name,
        "description": description,
        "error_class": error_class,
        "retry_action": retry_action,
    }


def seed_rows() -> list[dict]:
    """Every pilot and trf code (class from classification.csv) plus our own codes from extra_codes.csv."""
    classes = {(r["source"], int(r["code"])): r["proposed_class"] for r in _read("classification.csv")}
    rows: dict[tuple[str, int], dict] = {}
    for source, filename, text_column in (
        ("pilot", "pilot.csv", "message"),
        ("trf", "trf.csv", "description"),
    ):
        for record in _read(filename):
            code = int(record["code"])
            if (source, code) not in classes:
                raise ValueError(f"classification.csv has no class for {source} {code}")
            error_class = classes[(source, code)]
            # trf.csv lists 251 twice: the later row replaces the earlier, as the transform's own lookup does.
            rows[(source, code)] = _row(
                source,
                code,
                record["name"],
                record[text_column],
                error_class,
                retry_action_for(source, code, error_class),
            )
    for record in _read("extra_codes.csv"):
        key = (record["source"], int(record["code"]))
        if key in rows:
            raise ValueError(f"extra_codes.csv redefines {key[0]} {key[1]}")
        rows[key] = _row(*key, record["name"], record["description"], record["error_class"], record["retry_action"])
    return list(rows.values())


def codes_by_key(rows: Sequence[Mapping]) -> dict[tuple[str, int], dict]:
    """The ``codes`` mapping that classify() reads, built from seed_rows() (or database rows as dicts)."""
    return {
        (r["source"], r["code"]): {
            "error_class": r["error_class"],
            "retry_action": r["retry_action"],
            "name": r["name"],
        }
        for r in rows
    }


# --- diagnostic rules ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Split:
    trf_code: int
    pilot_code: int | None  # the pilot's own specific code; None: the pilot catch-all is right already
    error_class: str
    pattern: str
    description: str


# Most specific first, since a diagnostic often names a cause and its consequences: a file that cannot be
# opened ends in a traceback; a hard wall-time kill uses SIGKILL; an allocation failure aborts the program;
# any failure can leave an output missing. Bounded gaps ([^\n]{0,200}?) keep matching linear.
_SPLITS = (
    _Split(
        2001,
        1361,
        "site",
        r"(?i)(could not|cannot|can't|failed to|unable to) open (the )?(input )?file|TFile::Open|TNetXNGFile"
        r"|Server responded with an error|xrootd[^\n]{0,80}?(error|fail)",
        "input file could not be opened",
    ),
    _Split(
        2002,
        1213,
        "resource",
        r"(?i)\bSIGXCPU\b|signal\s+24\b|(cpu|wall[- ]?clock|wall)[- ]?time limit"
        r"|time limit (exceeded|reached)",
        "CPU or wall-time limit reached",
    ),
    _Split(
        2003,
        1212,
        "resource",
        r"(?i)\bSIGKILL\b|signal\s+9\b|out of memory|oom[- ]?kill|bad_alloc|memory limit"
        r"|exceeded (the )?(maximum )?(allowed )?memory",
        "killed for memory",
    ),
    _Split(
        2004,
        1328,
        "software",
        r"(?i)segmentation (fault|violation)|\bSIGSEGV\b|signal\s+11\b|core dump|stack trace",
        "crash inside the payload",
    ),
    _Split(
        2005,
        None,
        "software",
        r"(?i)Traceback \(most recent call last\)|terminate called after throwing"
        r"|(unhandled|uncaught) exception|\bSIGABRT\b|signal\s+6\b|\bSIGFPE\b|floating point exception",
        "unhandled exception or abort in the payload",
    ),
    _Split(
        2006,
        1200,
        "site",
        r"(?i)\bSIG(TERM|INT|HUP|QUIT|USR1|USR2|PWR)\b|signal\s+(1|2|3|10|12|15)\b|preempt"
        r"|killed by the (batch system|pilot)",
        "killed by the batch system or pilot",
    ),
    _Split(
        2007,
        1165,
        "software",
        r"(?i)output file[^\n]{0,200}?(not found|missing|does not exist|was not (produced|created))"
        r"|missing output file",
        "expected output file missing",
    ),
)

_CATCH_ALLS = (
    ("trf", 65, "TRF_EXEC_FAIL"),
    ("trf", 68, "TRF_EXEC_LOGERROR"),
    ("trf", 253, "TRF_UNKNOWN"),
    ("pilot", 1305, "PAYLOADEXECUTIONFAILURE"),
    ("pilot", 1315, "UNKNOWNTRFFAILURE"),
)


def default_rules() -> list[dict]:
    """The seed diagnostic rules, ordered by position (1, 2, ...), grouped by the catch-all they split."""
    rules: list[dict] = []
    for source, code, name in _CATCH_ALLS:
        for split in _SPLITS:
            new_code = split.trf_code if source == "trf" else split.pilot_code
            if new_code is None:
                continue
            rules.append(
                {
                    "position": len(rules) + 1,
                    "source": source,
                    "code": code,
                    "pattern": split.pattern,
                    "new_code": new_code,
                    "error_class": split.error_class,
                    "description": f"{source} {code} {name}: {split.description}",
                    "active": True,
                }
            )
    return rules


def compile_rule_pattern(pattern: str) -> re2._Regexp:
    """Compile a rule's pattern with RE2, or raise RulePatternError saying why it cannot be used.

    RE2 matches in time linear in the diagnostic whatever the pattern, so no rule can stall classification (a
    backtracking engine takes seconds on `(\\w+\\s?)+!`). It refuses what needs backtracking: back-references
    and look-around."""
    if not isinstance(pattern, str):
        raise RulePatternError(f"pattern must be text, not {type(pattern).__name__}")
    if not pattern.strip():
        raise RulePatternError("pattern is empty")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise RulePatternError(f"pattern is too long: {len(pattern)} characters (at most {MAX_PATTERN_LENGTH})")
    if "\x00" in pattern:
        raise RulePatternError("pattern holds a NUL character")
    try:
        compiled = re2.compile(pattern, options=RE2_OPTIONS)
    except re2.error as exc:
        raise RulePatternError(f"pattern does not compile: {re2_reason(exc)}") from None
    # A pattern that matches empty text matches every diagnostic: almost always a stray '|' or a '*'.
    if compiled.search("") is not None:
        raise RulePatternError("pattern matches an empty diagnostic, so it would match every failure")
    return compiled


def re2_reason(exc: Exception) -> str:
    reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
    if reason.startswith(("invalid perl operator", "invalid escape sequence")):
        reason += " (rules match in linear time with RE2: no back-references, no look-around)"
    return reason


@functools.lru_cache(maxsize=1024)
def _compiled_or_none(pattern: str) -> re2._Regexp | None:
    try:
        return compile_rule_pattern(pattern)
    except RulePatternError:
        return None


def _field(rule: Any, name: str, default: Any = None) -> Any:
    if isinstance(rule, Mapping):
        return rule.get(name, default)
    return getattr(rule, name, default)


def _text(diagnostic: Any) -> str:
    if diagnostic is None:
        return ""
    try:
        text = diagnostic if isinstance(diagnostic, str) else str(diagnostic)
    except Exception:  # an object whose __str__ fails must not break classification
        return ""
    return text[:DIAGNOSTIC_SCAN_LIMIT]


def classify(
    *,
    source: str,
    code: int,
    diagnostic: str | None,
    codes: Mapping[tuple[str, int], Mapping],
    rules: Sequence[Any],
) -> Classification:
    """Classify one failure. The first matching active rule rewrites code and class; matching inactive
    (dry-run) rules are only recorded. Never raises because of the diagnostic text or a broken rule."""
    text = _text(diagnostic)
    new_code, rule_class, applied, matched = code, None, None, False
    dry_run: list[Any] = []
    for rule in rules:
        rule_code = _field(rule, "code")
        if _field(rule, "source") != source or (rule_code is not None and rule_code != code):
            continue
        active = bool(_field(rule, "active", True))
        if active and matched:
            continue  # only the first active match acts; later dry-run rules are still recorded
        pattern = _field(rule, "pattern")
        compiled = _compiled_or_none(pattern) if isinstance(pattern, str) else None
        if compiled is None or compiled.search(text) is None:
            continue
        rule_id = _field(rule, "id")
        if rule_id is None:
            rule_id = _field(rule, "position")
        if not active:
            dry_run.append(rule_id)
            continue
        applied, matched = rule_id, True
        if _field(rule, "new_code") is not None:
            new_code = _field(rule, "new_code")
        rule_class = _field(rule, "error_class")

    entry = codes.get((source, new_code)) or {}
    if rule_class in ERROR_CLASSES:
        error_class = rule_class
    else:
        error_class = entry.get("error_class") if entry.get("error_class") in ERROR_CLASSES else "unknown"
    # The table's action holds only while the class is the table's; a rule that overrides the class
    # gets that class's action.
    if entry.get("error_class") == error_class and entry.get("retry_action") in RETRY_ACTIONS:
        retry_action = entry["retry_action"]
    else:
        retry_action = retry_action_for(source, new_code, error_class)
    return Classification(
        source=source,
        code=new_code,
        original_code=code,
        error_class=error_class,
        retry_action=retry_action,
        name=entry.get("name") or "",
        rule_id=applied,
        dry_run_rule_ids=tuple(dry_run),
    )
