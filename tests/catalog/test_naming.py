"""Dataset names: parsing real and generated names, and the names derived for outputs and tasks."""

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog import naming
from catalog.naming import (
    DatasetName,
    DatasetNameError,
    merged_dataset_name,
    output_dataset_name,
    parse_dataset_name,
    task_name,
    unmerged_dataset_name,
)

TTBAR = "mc14_8TeV.117050.PowhegPythia_P2011C_ttbar.merge.AOD.e1727_s1933_s1911_r5591_r5625"
MUONS = "data12_8TeV.00200842.physics_Muons.merge.AOD.r4065_p1278"
PERIOD = "data12_8TeV.periodB.physics_Muons.PhysCont.AOD.repro14_v01/"  # as deft/demo.py seeds it


def test_parses_an_mc_dataset_name():
    name = parse_dataset_name(TTBAR)
    assert name == DatasetName(
        project="mc14_8TeV",
        number=117050,
        number_text="117050",
        physics_short="PowhegPythia_P2011C_ttbar",
        prod_step="merge",
        data_type="AOD",
        tags="e1727_s1933_s1911_r5591_r5625",
    )
    assert name.tag_list == ("e1727", "s1933", "s1911", "r5591", "r5625")
    assert name.task_id is None


def test_keeps_the_zero_padded_run_number_of_data():
    name = parse_dataset_name(MUONS)
    assert (name.number, name.number_text) == (200842, "00200842")
    assert str(name) == MUONS


def test_strips_and_keeps_the_scope():
    name = parse_dataset_name(f"mc14_8TeV:{TTBAR}")
    assert name.scope == "mc14_8TeV"
    assert name.name == TTBAR
    assert str(name) == f"mc14_8TeV:{TTBAR}"


def test_flags_a_container_by_its_trailing_slash():
    name = parse_dataset_name(f"{TTBAR}/")
    assert name.is_container
    assert name.name == TTBAR


def test_keeps_the_task_id_suffix_in_the_tags_but_exposes_them_without_it():
    name = parse_dataset_name(f"{TTBAR}_tid01234567_00")
    assert name.tags == "e1727_s1933_s1911_r5591_r5625_tid01234567_00"
    assert name.tags_without_tid == "e1727_s1933_s1911_r5591_r5625"
    assert name.task_id == 1234567


def test_recognises_an_unmerged_dataset():
    name = parse_dataset_name(f"{TTBAR}_tid01234567_00.um")
    assert name.is_unmerged
    assert name.data_type == "AOD"
    assert name.name == f"{TTBAR}_tid01234567_00.um"


@pytest.mark.parametrize(
    "name, message",
    [
        ("", "empty"),
        ("mc14_8TeV.117050.ttbar.AOD", "expected 6 dot-separated parts"),
        ("mc14_8TeV.117050.ttbar.AOD", "got 4"),
        (f"{TTBAR}.extra", "got 7"),
        ("mc14_8TeV.12a.ttbar.merge.AOD.e1", "dataset number '12a' is not a number"),
        ("mc14_8TeV.１２.ttbar.merge.AOD.e1", "is not a number"),  # full-width digits are not digits here
        ("mc14_8TeV..ttbar.merge.AOD.e1", "number is empty"),
        ("data12_8TeV.period.physics_Muons.PhysCont.AOD.r1", "dataset number 'period' is not a number"),
        ("data12_8TeV.periodB-2.physics_Muons.PhysCont.AOD.r1", "nor a data period such as periodB"),
        ("14mc.1.ttbar.merge.AOD.e1", "project '14mc'"),
        ("mc14.1.tt bar.merge.AOD.e1", "physics short name 'tt bar'"),
        ("mc14.1.ttbar.merge.AOD.e1__r2", "tag chain 'e1__r2'"),
        ("mc14.1.ttbar.merge.AOD.e1_", "tag chain"),
        ("mc14.1.ttbar.merge..e1", "data type is empty"),
        ("bad scope:mc14.1.ttbar.merge.AOD.e1", "scope 'bad scope'"),
        (" mc14.1.ttbar.merge.AOD.e1", "leading or trailing spaces"),
        ("mc14.1." + "x" * 250 + ".merge.AOD.e1", "at most 255"),
    ],
)
def test_rejects_malformed_names_saying_what_is_wrong(name, message):
    with pytest.raises(DatasetNameError, match=message.replace("(", r"\(")):
        parse_dataset_name(name)


def test_name_errors_are_value_errors():
    assert issubclass(DatasetNameError, ValueError)


_word = st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True)
_tags = st.lists(st.from_regex(r"[a-z][0-9]{1,5}", fullmatch=True), min_size=1, max_size=6).map("_".join)
_tid = st.integers(min_value=1, max_value=10**9).map(lambda tid: f"_tid{tid:08d}_00")


@st.composite
def dataset_names(draw):
    return DatasetName(
        project=draw(st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,15}", fullmatch=True)),
        number=0,  # filled in below from the text, as the parser does
        number_text=draw(st.from_regex(r"[0-9]{1,8}|period[A-Za-z0-9]{1,12}", fullmatch=True)),
        physics_short=draw(_word),
        prod_step=draw(_word),
        data_type=draw(_word),
        tags=draw(_tags) + draw(st.sampled_from(["", "_tid00001234_00"]) | _tid),
        is_container=draw(st.booleans()),
        scope=draw(st.none() | st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,15}", fullmatch=True)),
        is_unmerged=draw(st.booleans()),
    )


@given(dataset_names())
def test_a_generated_name_reads_back_into_its_parts(expected):
    text = str(expected)
    parsed = parse_dataset_name(text)
    number = None if expected.number_text.startswith("period") else int(expected.number_text)
    assert parsed == DatasetName(**{**expected.__dict__, "number": number})
    assert str(parsed) == text
    assert parsed.period == (expected.number_text.removeprefix("period") if number is None else None)


_part_text = st.sampled_from(["mc14", "0042", "periodB", "period", "AOD", "e1_r2", "um", "x-1", "", "a b", "p:1/"])


@given(st.lists(_part_text, min_size=5, max_size=7).map(".".join) | st.text(alphabet="aZ09_-. :/p", max_size=30))
def test_a_name_reads_exactly_when_each_part_follows_its_rule(text):
    """The one-pass parser accepts what the part-by-part rules (which explain refusals) accept, nothing else."""
    try:
        naming._split_decorations(text)
        bare = naming._split_decorations(text)[1]
        naming._explain(bare)
        by_parts = len(bare) <= naming.MAX_NAME_LENGTH
    except DatasetNameError:
        by_parts = False
    try:
        parse_dataset_name(text)
        parsed = True
    except DatasetNameError:
        parsed = False
    assert parsed == by_parts


@given(st.text())
def test_any_text_is_a_name_or_a_dataset_name_error(text):
    try:
        parsed = parse_dataset_name(text)
    except DatasetNameError as error:
        assert str(error)
    else:
        assert str(parsed) == text


@given(dataset_names(), st.from_regex(r"p[0-9]{1,5}", fullmatch=True), _word, st.integers(1, 10**8))
def test_derived_names_read_back_with_the_input_parts_the_format_and_the_ptag(source, ptag, data_format, task_id):
    source = dataclasses.replace(source, is_unmerged=False)
    output = parse_dataset_name(output_dataset_name(str(source), ptag=ptag, data_format=data_format))
    kept = ("project", "number_text", "physics_short", "period")
    assert [getattr(output, k) for k in kept] == [getattr(parse_dataset_name(str(source)), k) for k in kept]
    assert (output.data_type, output.tags, output.task_id) == (data_format, f"{source.tags_without_tid}_{ptag}", None)
    assert output.prod_step == (source.prod_step if output.period is not None else "deriv")
    assert not (output.is_container or output.is_unmerged or output.scope)
    merged = parse_dataset_name(merged_dataset_name(output.name, task_id=task_id))
    assert (merged.task_id, merged.tags_without_tid) == (task_id, output.tags)
    assert task_name(str(source), ptag=ptag, formats=[data_format]) == output.name


def test_parses_a_period_container():
    name = parse_dataset_name(PERIOD)
    assert (name.project, name.number, name.number_text, name.period) == ("data12_8TeV", None, "periodB", "B")
    assert (name.prod_step, name.data_type, name.tags, name.is_container) == ("PhysCont", "AOD", "repro14_v01", True)
    assert str(name) == PERIOD


def test_a_period_container_derives_period_container_names():
    """ATLAS names a period's derivation like data15_13TeV.periodD.physics_Main.PhysCont.DAOD_EXOT2.grp15_v01_p2425."""
    output = output_dataset_name(PERIOD, ptag="p1872", data_format="DAOD_SUSY1")
    assert output == "data12_8TeV.periodB.physics_Muons.PhysCont.DAOD_SUSY1.repro14_v01_p1872"
    assert merged_dataset_name(output, task_id=42) == f"{output}_tid00000042_00"
    assert task_name(PERIOD, ptag="p1872", formats=["DAOD_SUSY1", "DAOD_SUSY2"]) == (
        "data12_8TeV.periodB.physics_Muons.PhysCont.DAOD_SUSY1_SUSY2.repro14_v01_p1872"
    )


def test_output_name_appends_the_ptag_and_takes_the_format_and_deriv_step():
    assert output_dataset_name(TTBAR, ptag="p1872", data_format="DAOD_SUSY1") == (
        "mc14_8TeV.117050.PowhegPythia_P2011C_ttbar.deriv.DAOD_SUSY1.e1727_s1933_s1911_r5591_r5625_p1872"
    )


def test_output_name_drops_task_id_scope_and_container_slash_of_the_input():
    source = f"mc14_8TeV:{TTBAR}_tid01234567_00/"
    assert output_dataset_name(source, ptag="p1872", data_format="DAOD_SUSY1") == output_dataset_name(
        TTBAR, ptag="p1872", data_format="DAOD_SUSY1"
    )


def test_output_name_takes_another_production_step_when_asked():
    name = output_dataset_name(MUONS, ptag="p1872", data_format="DAOD_TOPQ1", prod_step="merge")
    assert name == "data12_8TeV.00200842.physics_Muons.merge.DAOD_TOPQ1.r4065_p1278_p1872"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"ptag": "r1872", "data_format": "DAOD_SUSY1"}, "p-tag 'r1872'"),
        ({"ptag": "p1872", "data_format": "DAOD.SUSY1"}, "data type 'DAOD.SUSY1'"),
        ({"ptag": "p1872", "data_format": ""}, "data type is empty"),
    ],
)
def test_output_name_rejects_bad_ptags_and_formats(kwargs, message):
    with pytest.raises(DatasetNameError, match=message):
        output_dataset_name(TTBAR, **kwargs)


def test_output_name_refuses_a_name_longer_than_rucio_allows():
    long_input = "mc14_8TeV.117050." + "x" * 200 + ".merge.AOD." + "e1_" * 10 + "r1"
    with pytest.raises(DatasetNameError, match="at most 255"):
        output_dataset_name(long_input, ptag="p1872", data_format="DAOD_SUSY1")


def test_merged_and_unmerged_names_carry_the_task_id():
    output = output_dataset_name(TTBAR, ptag="p1872", data_format="DAOD_SUSY1")
    merged = merged_dataset_name(output, task_id=4242)
    unmerged = unmerged_dataset_name(output, task_id=4242)
    assert merged == f"{output}_tid00004242_00"
    assert unmerged == f"{merged}.um"
    assert parse_dataset_name(unmerged).is_unmerged
    assert not parse_dataset_name(merged).is_unmerged
    assert parse_dataset_name(merged).task_id == 4242


@pytest.mark.parametrize(
    "name, task_id",
    [(f"{TTBAR}_tid00000001_00", 5), (f"{TTBAR}/", 5), (f"{TTBAR}_tid00000001_00.um", 5), (TTBAR, 0), (TTBAR, True)],
)
def test_merged_name_needs_a_plain_output_name_and_a_positive_task_id(name, task_id):
    with pytest.raises(DatasetNameError):
        merged_dataset_name(name, task_id=task_id)


def test_task_name_of_a_single_carriage():
    assert task_name(f"{TTBAR}_tid01234567_00", ptag="p1872", formats=["DAOD_SUSY1"]) == (
        "mc14_8TeV.117050.PowhegPythia_P2011C_ttbar.deriv.DAOD_SUSY1.e1727_s1933_s1911_r5591_r5625_p1872"
    )


def test_task_name_of_a_train_drops_the_repeated_daod_prefix():
    name = task_name(MUONS, ptag="p1872", formats=("DAOD_SUSY1", "DAOD_SUSY2", "DAOD_TOPQ1"))
    assert name == "data12_8TeV.00200842.physics_Muons.deriv.DAOD_SUSY1_SUSY2_TOPQ1.r4065_p1278_p1872"


def test_task_name_keeps_a_format_with_another_prefix_whole():
    name = task_name(MUONS, ptag="p1872", formats=["DAOD_SUSY1", "NTUP_PILEUP"])
    assert ".deriv.DAOD_SUSY1_NTUP_PILEUP." in name


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"ptag": "p1872", "formats": []}, "non-empty list of formats"),
        ({"ptag": "p1872", "formats": "DAOD_SUSY1"}, "non-empty list of formats"),
        ({"ptag": "p1872", "formats": ["DAOD_SUSY1", "DAOD_SUSY1"]}, "repeat"),
        ({"ptag": "1872", "formats": ["DAOD_SUSY1"]}, "p-tag '1872'"),
        ({"ptag": "p1872", "formats": [f"DAOD_X{i:03d}" for i in range(40)]}, "at most 255"),
    ],
)
def test_task_name_rejects_bad_input(kwargs, message):
    with pytest.raises(DatasetNameError, match=message):
        task_name(TTBAR, **kwargs)
