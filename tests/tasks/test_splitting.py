"""Dynamic splitting by lumiblock: properties (hypothesis) and realistic examples."""

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasks.engine.splitting import InputFile, JobSpec, auto_events_per_job, mc_files, split_by_lumiblock

RUN = 200842


def lfn(i: int) -> str:
    return f"data12_8TeV.00200842.physics_Muons.merge.AOD.r4065_p1278._{i:06d}.pool.root.1"


def _lumiblock_events(n: int) -> int:
    """A few hundred events mostly; about 1 in 10 empty, 1 in 20 bigger than any job."""
    return 0 if n <= 0 else n * 20 if n > 800 else n


# One integer draw per lumiblock keeps generation (the bulk of the test time) cheap.
_events = st.integers(-90, 850).map(_lumiblock_events)


@st.composite
def datasets(draw) -> list[InputFile]:
    """Up to 8 files of consecutive lumiblocks of one run (the count is drawn first to avoid tiny lists)."""
    files, next_lb = [], 1
    for i in range(draw(st.integers(0, 8))):
        size = draw(st.integers(0, 15))
        counts = draw(st.lists(_events, min_size=size, max_size=size))
        files.append(InputFile(lfn(i), [(RUN, next_lb + j, n) for j, n in enumerate(counts)]))
        next_lb += len(counts)
    return files


limits = st.integers(500, 6000)


def flat_input(files: list[InputFile]) -> list[tuple[str, int, int, int]]:
    return [(f.lfn, run, lb, n) for f in files for run, lb, n in f.lumiblocks]


def flat_jobs(jobs: list[JobSpec]) -> list[tuple[str, int, int, int]]:
    return [lb for job in jobs for lb in job.lumiblocks]


# --- properties -------------------------------------------------------------------------------------


@given(datasets(), limits)
def test_every_lumiblock_lands_in_exactly_one_job(files, limit):
    jobs = split_by_lumiblock(files, events_per_job=limit)
    assert Counter(flat_jobs(jobs)) == Counter(flat_input(files))


@given(datasets(), limits)
def test_input_order_is_preserved(files, limit):
    assert flat_jobs(split_by_lumiblock(files, events_per_job=limit)) == flat_input(files)


@given(datasets(), limits)
def test_no_lumiblock_is_ever_cut(files, limit):
    # Each (file, run, lumiblock) appears in one job only, with all of its events.
    pieces: dict[tuple[str, int, int], list[int]] = {}
    for job in split_by_lumiblock(files, events_per_job=limit):
        assert job.nevents == sum(n for *_, n in job.lumiblocks)
        for name, run, lb, n in job.lumiblocks:
            pieces.setdefault((name, run, lb), []).append(n)
    for name, run, lb, n in flat_input(files):
        assert pieces[(name, run, lb)] == [n]


@given(datasets(), limits)
def test_jobs_stay_within_limit_unless_one_lumiblock_is_bigger(files, limit):
    for job in split_by_lumiblock(files, events_per_job=limit):
        if job.nevents > limit:
            assert len([lb for lb in job.lumiblocks if lb[3]]) == 1


@given(datasets(), limits)
def test_no_job_is_made_of_empty_lumiblocks_only(files, limit):
    jobs = split_by_lumiblock(files, events_per_job=limit)
    assert all(job.lumiblocks for job in jobs)
    if any(n for *_, n in flat_input(files)):
        assert all(job.nevents for job in jobs)


@given(datasets(), limits)
def test_each_job_is_as_full_as_the_next_lumiblock_allows(files, limit):
    jobs = split_by_lumiblock(files, events_per_job=limit)
    for job, following in zip(jobs, jobs[1:], strict=False):
        assert job.nevents + following.lumiblocks[0][3] > limit


@given(datasets(), limits)
def test_job_files_are_the_distinct_files_in_read_order(files, limit):
    for job in split_by_lumiblock(files, events_per_job=limit):
        names = [lb[0] for lb in job.lumiblocks]
        assert job.files == sorted(set(names), key=names.index)


@given(st.floats(min_value=1e-6, max_value=1e6), st.floats(min_value=1.0, max_value=1e6))
def test_auto_size_is_target_time_over_cpu_time_clamped(cpu, target):
    size = auto_events_per_job(cpu_seconds_per_event=cpu, target_seconds=target)
    assert isinstance(size, int)
    assert 1000 <= size <= 100_000
    if 1000 < size < 100_000:
        assert size == int(target / cpu)


# --- examples ---------------------------------------------------------------------------------------


def test_ten_thousand_event_files_are_split_across_file_boundaries():
    # Two 10k-event files of 25 lumiblocks of 400 events: 12 lumiblocks (4,800) fill a 5k job.
    files = [InputFile(lfn(i), [(RUN, 25 * i + j + 1, 400) for j in range(25)]) for i in range(2)]
    jobs = split_by_lumiblock(files, events_per_job=5000)
    assert [job.nevents for job in jobs] == [4800, 4800, 4800, 4800, 800]
    assert jobs[2].files == [lfn(0), lfn(1)]
    assert jobs[2].lumiblocks[0] == (lfn(0), RUN, 25, 400)


def test_small_data_files_are_packed_together():
    # Ten 1k-event files of lumiblocks of 300/300/400 events: five files per 5k job.
    files = [
        InputFile(lfn(i), [(RUN, 3 * i + 1, 300), (RUN, 3 * i + 2, 300), (RUN, 3 * i + 3, 400)]) for i in range(10)
    ]
    jobs = split_by_lumiblock(files, events_per_job=5000)
    assert [job.nevents for job in jobs] == [5000, 5000]
    assert jobs[0].files == [lfn(i) for i in range(5)]


def test_a_lumiblock_bigger_than_the_limit_is_a_job_of_its_own():
    files = [InputFile(lfn(0), [(RUN, 1, 300), (RUN, 2, 7000), (RUN, 3, 300), (RUN, 4, 0)])]
    jobs = split_by_lumiblock(files, events_per_job=5000)
    assert [[lb[2] for lb in job.lumiblocks] for job in jobs] == [[1], [2], [3, 4]]
    assert [job.nevents for job in jobs] == [300, 7000, 300]


def test_empty_lumiblocks_after_a_big_one_make_no_empty_job():
    files = [InputFile(lfn(0), [(RUN, 1, 7000), (RUN, 2, 0)]), InputFile(lfn(1), [(RUN, 3, 0), (RUN, 4, 300)])]
    jobs = split_by_lumiblock(files, events_per_job=5000)
    assert [[lb[2] for lb in job.lumiblocks] for job in jobs] == [[1, 2, 3], [4]]
    assert jobs[0].files == [lfn(0), lfn(1)]


def test_leading_empty_lumiblocks_join_the_first_job_even_if_it_is_big():
    files = [InputFile(lfn(0), [(RUN, 1, 0), (RUN, 2, 7000), (RUN, 3, 300)])]
    jobs = split_by_lumiblock(files, events_per_job=5000)
    assert [[lb[2] for lb in job.lumiblocks] for job in jobs] == [[1, 2], [3]]


def test_a_limit_of_one_event_gives_one_job_per_lumiblock():
    files = [InputFile(lfn(0), [(RUN, 1, 1), (RUN, 2, 250), (RUN, 3, 1)])]
    assert [job.nevents for job in split_by_lumiblock(files, events_per_job=1)] == [1, 250, 1]


def test_empty_lumiblocks_still_land_in_a_job():
    jobs = split_by_lumiblock([InputFile(lfn(0), [(RUN, 1, 0), (RUN, 2, 0)])], events_per_job=5000)
    assert jobs == [JobSpec(0, [(lfn(0), RUN, 1, 0), (lfn(0), RUN, 2, 0)])]


def test_no_input_gives_no_jobs():
    assert split_by_lumiblock([], events_per_job=5000) == []
    assert split_by_lumiblock([InputFile(lfn(0), [])], events_per_job=5000) == []


def test_mc_files_are_packed_whole_and_never_split():
    names = [
        f"mc14_8TeV.117050.PowhegPythia_P2011C_ttbar.merge.AOD.e1727_s1933_s1911_r5591_r5625._{i:06d}.pool.root.1"
        for i in range(4)
    ]
    files = mc_files(zip(names, [3000, 10_000, 2000, 2000], strict=True))
    assert files[0] == InputFile(names[0], [(0, 1, 3000)])
    jobs = split_by_lumiblock(files, events_per_job=5000)
    assert [job.files for job in jobs] == [[names[0]], [names[1]], [names[2], names[3]]]
    assert [job.nevents for job in jobs] == [3000, 10_000, 4000]


def test_automatic_size_fills_two_hours_of_cpu():
    assert auto_events_per_job(cpu_seconds_per_event=3.6) == 2000
    files = mc_files([(f"AOD._{i:06d}", 1000) for i in range(10)])
    jobs = split_by_lumiblock(files, events_per_job=None, cpu_seconds_per_event=3.6)
    assert [job.nevents for job in jobs] == [2000] * 5
    jobs = split_by_lumiblock(files, events_per_job=None, cpu_seconds_per_event=1.0, target_seconds=3000)
    assert [job.nevents for job in jobs] == [3000, 3000, 3000, 1000]


def test_automatic_size_is_clamped():
    assert auto_events_per_job(cpu_seconds_per_event=100.0) == 1000
    assert auto_events_per_job(cpu_seconds_per_event=0.001) == 100_000
    assert auto_events_per_job(cpu_seconds_per_event=1.0, target_seconds=float("inf")) == 100_000


# --- bad input --------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, -5000, 2500.0, "5000", True])
def test_events_per_job_must_be_a_positive_int_or_none(bad):
    with pytest.raises(ValueError, match="events_per_job must be a positive int or None"):
        split_by_lumiblock([], events_per_job=bad)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan")])
def test_cpu_time_per_event_must_be_positive(bad):
    with pytest.raises(ValueError, match="cpu_seconds_per_event"):
        split_by_lumiblock([], events_per_job=None, cpu_seconds_per_event=bad)


def test_negative_event_count_names_the_file():
    files = [InputFile(lfn(0), [(RUN, 1, 300)]), InputFile(lfn(1), [(RUN, 2, -1)])]
    with pytest.raises(ValueError, match=lfn(1)):
        split_by_lumiblock(files, events_per_job=5000)


def test_a_lumiblock_spread_over_two_files_is_never_cut():
    # Lumiblock 7 of run 200842 was merged into the end of one file and the start of the next.
    files = [
        InputFile("a.root", [(200842, 6, 3000), (200842, 7, 1500)]),
        InputFile("b.root", [(200842, 7, 1500), (200842, 8, 2000)]),
    ]
    jobs = split_by_lumiblock(files, events_per_job=4000)
    assert [job.lumiblocks for job in jobs] == [
        [("a.root", 200842, 6, 3000)],
        [("a.root", 200842, 7, 1500), ("b.root", 200842, 7, 1500)],
        [("b.root", 200842, 8, 2000)],
    ]


def test_a_lumiblock_listed_twice_in_one_file_is_one_unit():
    # A file's catalog entry may list a lumiblock in two pieces; they still land in one job.
    files = [InputFile("a.root", [(200842, 7, 1500), (200842, 6, 3000), (200842, 7, 1500)])]
    jobs = split_by_lumiblock(files, events_per_job=4000)
    assert [job.lumiblocks for job in jobs] == [
        [("a.root", 200842, 7, 1500), ("a.root", 200842, 7, 1500)],
        [("a.root", 200842, 6, 3000)],
    ]


def test_files_of_different_runs_with_the_same_lumiblock_numbers_are_not_merged_into_units():
    files = [InputFile("a.root", [(200842, 1, 3000)]), InputFile("b.root", [(200843, 1, 3000)])]
    assert [job.nevents for job in split_by_lumiblock(files, events_per_job=4000)] == [3000, 3000]
