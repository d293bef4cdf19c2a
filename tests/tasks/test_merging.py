"""Merge planning: properties (hypothesis) and realistic examples."""

from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasks.engine.merge_planning import MergePlan, UnmergedOutput, plan_merges

FORMATS = ["DAOD_SUSY1", "DAOD_TOPQ1", "DAOD_HIGG2D1"]
GB = 1_000_000_000


def _output(i: int, row: tuple[str, int, int, int]) -> UnmergedOutput:
    """Cases 0-3 are the odd outputs (failed job, nothing written, too big to share); 4-12 are plain."""
    fmt, size, events, case = row
    if case == 0:
        return UnmergedOutput(i, fmt, size, events, job_ok=False)
    if case == 1:
        return UnmergedOutput(i, fmt, 0, events)
    if case == 2:
        return UnmergedOutput(i, fmt, size, 0)
    if case == 3:
        return UnmergedOutput(i, fmt, size * 10, events * 10)
    return UnmergedOutput(i, fmt, size, events)


# Outputs with ids = input position. The length is drawn first: plain st.lists stays too short to
# fill several merges per format.
_rows = st.tuples(st.sampled_from(FORMATS), st.integers(1, 30), st.integers(1, 10), st.integers(0, 12))
unmerged_outputs = (
    st.integers(0, 40)
    .flatmap(lambda n: st.lists(_rows, min_size=n, max_size=n))
    .map(lambda rows: [_output(i, row) for i, row in enumerate(rows)])
)


# Small units, so that several outputs fit under a limit and some outputs pass it alone.
limits = st.fixed_dictionaries(
    {
        "max_bytes": st.integers(1, 100),
        "max_files": st.integers(1, 8),
        "max_events": st.one_of(st.none(), st.integers(1, 40)),
    }
)


def eligible(outputs, fmt=None):
    return [o for o in outputs if o.job_ok and o.bytes > 0 and o.events > 0 and fmt in (None, o.format)]


def passes_a_limit(nbytes, nfiles, nevents, lim) -> bool:
    max_events = lim["max_events"]
    return nbytes > lim["max_bytes"] or nfiles > lim["max_files"] or (max_events is not None and nevents > max_events)


def planned_ids(plans):
    return [i for plan in plans for i in plan.output_ids]


# --- properties -------------------------------------------------------------------------------------


@given(unmerged_outputs, limits, st.booleans())
def test_every_output_is_merged_at_most_once(outputs, lim, final):
    ids = planned_ids(plan_merges(outputs, final=final, **lim))
    assert len(ids) == len(set(ids))


@given(unmerged_outputs, limits, st.booleans())
def test_failed_or_empty_outputs_are_never_merged(outputs, lim, final):
    assert set(planned_ids(plan_merges(outputs, final=final, **lim))) <= {o.id for o in eligible(outputs)}


@given(unmerged_outputs, limits, st.booleans())
def test_merges_hold_their_format_and_totals(outputs, lim, final):
    by_id = {o.id: o for o in outputs}
    for plan in plan_merges(outputs, final=final, **lim):
        members = [by_id[i] for i in plan.output_ids]
        assert plan.output_ids and {o.format for o in members} == {plan.format}
        assert plan.bytes == sum(o.bytes for o in members)
        assert plan.events == sum(o.events for o in members)


@given(unmerged_outputs, limits, st.booleans())
def test_merges_stay_within_limits_unless_one_output_is_bigger(outputs, lim, final):
    for plan in plan_merges(outputs, final=final, **lim):
        if passes_a_limit(plan.bytes, len(plan.output_ids), plan.events, lim):
            assert len(plan.output_ids) == 1


@given(unmerged_outputs, limits, st.booleans())
def test_plans_are_ordered_by_format_then_input_order(outputs, lim, final):
    plans = plan_merges(outputs, final=final, **lim)
    keys = [(plan.format, i) for plan in plans for i in plan.output_ids]
    assert keys == sorted(keys)


@given(unmerged_outputs, limits, st.booleans())
def test_closed_merges_are_full(outputs, lim, final):
    # Per format, each plan could not take the first output of what follows it (next plan or the
    # waiting remainder). With final=True the last plan is the remainder itself: nothing follows.
    by_id = {o.id: o for o in outputs}
    plans = plan_merges(outputs, final=final, **lim)
    for fmt in FORMATS:
        mine = [p for p in plans if p.format == fmt]
        planned = set(planned_ids(mine))
        waiting = [o.id for o in eligible(outputs, fmt) if o.id not in planned]
        following = [p.output_ids[0] for p in mine[1:]] + waiting[:1]
        for plan, next_id in zip(mine, following, strict=False):
            nxt = by_id[next_id]
            assert passes_a_limit(plan.bytes + nxt.bytes, len(plan.output_ids) + 1, plan.events + nxt.events, lim)


@given(unmerged_outputs, limits)
def test_final_merges_every_eligible_output(outputs, lim):
    assert sorted(planned_ids(plan_merges(outputs, final=True, **lim))) == [o.id for o in eligible(outputs)]


@given(unmerged_outputs, limits)
def test_without_final_only_an_under_limit_remainder_waits(outputs, lim):
    plans = plan_merges(outputs, final=False, **lim)
    for fmt in FORMATS:
        todo = eligible(outputs, fmt)
        done = planned_ids([p for p in plans if p.format == fmt])
        assert [o.id for o in todo[: len(done)]] == done, "planned outputs are a prefix of the input"
        rest = todo[len(done) :]
        if rest:
            nbytes, nevents = sum(o.bytes for o in rest), sum(o.events for o in rest)
            assert nbytes < lim["max_bytes"] and len(rest) < lim["max_files"]
            assert lim["max_events"] is None or nevents < lim["max_events"]


def by_format(plans) -> dict[str, list[MergePlan]]:
    grouped: dict[str, list[MergePlan]] = {}
    for plan in plans:
        grouped.setdefault(plan.format, []).append(plan)
    return grouped


@given(unmerged_outputs, limits)
def test_final_only_adds_the_remainder(outputs, lim):
    waiting = by_format(plan_merges(outputs, final=False, **lim))
    for fmt, plans in by_format(plan_merges(outputs, final=True, **lim)).items():
        closed = waiting.get(fmt, [])
        assert plans[: len(closed)] == closed and len(plans) - len(closed) <= 1


@given(unmerged_outputs, unmerged_outputs, limits)
def test_later_outputs_never_change_earlier_merges(outputs, later, lim):
    # Each pass sees every still-unmerged output: merges planned before must be planned again.
    later = [UnmergedOutput(len(outputs) + o.id, o.format, o.bytes, o.events, o.job_ok) for o in later]
    before = by_format(plan_merges(outputs, **lim))
    after = by_format(plan_merges(outputs + later, **lim))
    for fmt, plans in before.items():
        assert after[fmt][: len(plans)] == plans


# --- examples ---------------------------------------------------------------------------------------


def test_four_gigabyte_merges_of_nine_hundred_megabyte_outputs():
    outputs = [UnmergedOutput(i, "DAOD_SUSY1", 900_000_000, 20_000) for i in range(10)]
    assert plan_merges(outputs) == [
        MergePlan("DAOD_SUSY1", (0, 1, 2, 3), 3_600_000_000, 80_000),
        MergePlan("DAOD_SUSY1", (4, 5, 6, 7), 3_600_000_000, 80_000),
    ]
    assert plan_merges(outputs, final=True)[-1] == MergePlan("DAOD_SUSY1", (8, 9), 1_800_000_000, 40_000)


def test_failed_and_empty_outputs_are_left_out():
    outputs = [
        UnmergedOutput("ok", "DAOD_TOPQ1", 2 * GB, 5000),
        UnmergedOutput("failed", "DAOD_TOPQ1", 2 * GB, 5000, job_ok=False),
        UnmergedOutput("no-bytes", "DAOD_TOPQ1", 0, 5000),
        UnmergedOutput("no-events", "DAOD_TOPQ1", 40_000, 0),
        UnmergedOutput("ok2", "DAOD_TOPQ1", 2 * GB, 5000),
    ]
    assert plan_merges(outputs) == [MergePlan("DAOD_TOPQ1", ("ok", "ok2"), 4 * GB, 10_000)]


def test_an_output_bigger_than_the_limit_is_merged_alone():
    outputs = [
        UnmergedOutput(1, "DAOD_SUSY1", 1 * GB, 100),
        UnmergedOutput(2, "DAOD_SUSY1", 5 * GB, 100),
        UnmergedOutput(3, "DAOD_SUSY1", 1 * GB, 100),
    ]
    assert [p.output_ids for p in plan_merges(outputs)] == [(1,), (2,)]


def test_file_and_event_limits_close_merges():
    small = [UnmergedOutput(i, "DAOD_HIGG2D1", 10_000_000, 100) for i in range(120)]
    assert [len(p.output_ids) for p in plan_merges(small)] == [50, 50]
    assert [len(p.output_ids) for p in plan_merges(small, max_events=3000, final=True)] == [30] * 4


def test_formats_are_merged_separately_in_format_order():
    outputs = [UnmergedOutput(i, fmt, GB, 1000) for i, fmt in enumerate(["DAOD_TOPQ1", "DAOD_SUSY1"] * 2)]
    assert [(p.format, p.output_ids) for p in plan_merges(outputs, final=True)] == [
        ("DAOD_SUSY1", (1, 3)),
        ("DAOD_TOPQ1", (0, 2)),
    ]


def test_any_object_with_the_attributes_can_be_planned():
    rows = [SimpleNamespace(id=7, format="DAOD_SUSY1", bytes=GB, events=10, job_ok=True)]
    assert plan_merges(rows, final=True) == [MergePlan("DAOD_SUSY1", (7,), GB, 10)]


# --- bad input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs", [{"max_bytes": 0}, {"max_files": -1}, {"max_events": 0}, {"max_bytes": 4e9}, {"max_files": True}]
)
def test_limits_must_be_positive_ints(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        plan_merges([], **kwargs)


def test_negative_size_names_the_output():
    with pytest.raises(ValueError, match="'bad-1'"):
        plan_merges([UnmergedOutput("bad-1", "DAOD_SUSY1", -1, 10)])
