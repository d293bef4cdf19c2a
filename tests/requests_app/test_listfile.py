"""The legacy group list file: reading it, every error with its line, and writing it back."""

import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from requests_app.listfile import (
    KEYS,
    ListFileError,
    ListFileRequest,
    ListFileSlice,
    decode_upload,
    format_listfile,
    parse_listfile,
)

TTBAR = "mc14_8TeV.117050.PowhegPythia_P2011C_ttbar.merge.AOD.e1727_s1933_s1911_r5591_r5625"
WJETS = "mc14_8TeV.147774.Sherpa_CT10_Wmunu.merge.AOD.e1434_s1933_s1911_r5591_r5625"
MUONS = "data12_8TeV.00200842.physics_Muons.merge.AOD.r4065_p1278"

EXAMPLE = f"""\
# SUSY derivations for the summer conferences
group:GR_SUSY
comment:ttbar and W+jets # for the 1-lepton analysis
owner:jdoe@cern.ch
project:mc14_8TeV
tag:p1872
priority:560
events_per_job:5000

formats:DAOD_SUSY1.DAOD_SUSY2
ds:{TTBAR}
ds:mc14_8TeV:{WJETS}
formats:DAOD_SUSY3
ds:{MUONS}/
"""


def parse(text):
    return parse_listfile(textwrap.dedent(text))


def errors_of(text):
    with pytest.raises(ListFileError) as raised:
        parse(text)
    return raised.value.errors


VALID_HEAD = "group:PHYS-SUSY\ntag:p1872\nformats:DAOD_SUSY1\n"


def test_reads_a_complete_file():
    request = parse_listfile(EXAMPLE)
    assert request == ListFileRequest(
        group="PHYS-SUSY",
        comment="ttbar and W+jets # for the 1-lepton analysis",
        owner="jdoe@cern.ch",
        project="mc14_8TeV",
        ptag="p1872",
        priority=560,
        events_per_job=5000,
        skim=True,
        train=False,
        slices=(
            ListFileSlice(TTBAR, ("DAOD_SUSY1", "DAOD_SUSY2")),
            ListFileSlice(f"mc14_8TeV:{WJETS}", ("DAOD_SUSY1", "DAOD_SUSY2")),
            ListFileSlice(f"{MUONS}/", ("DAOD_SUSY3",)),
        ),
    )
    assert [piece.line for piece in request.slices] == [11, 12, 14]


def test_defaults_when_optional_keys_are_absent():
    request = parse_listfile(VALID_HEAD + f"ds:{TTBAR}\n")
    assert (request.comment, request.owner, request.project) == ("", "", "")
    assert (request.priority, request.events_per_job, request.skim, request.train) == (None, None, True, False)


def test_a_modern_group_name_is_kept_as_written():
    assert parse_listfile(VALID_HEAD + f"ds:{TTBAR}\n").group == "PHYS-SUSY"


def test_keys_are_case_insensitive_and_spaces_around_them_ignored():
    request = parse_listfile(f"  GROUP : PHYS-TOP \nTag:p1\nFormats: daod_topq1 , DAOD_TOPQ2\n ds :{TTBAR}  \n")
    assert request.group == "PHYS-TOP"
    assert request.slices == (ListFileSlice(TTBAR, ("DAOD_TOPQ1", "DAOD_TOPQ2")),)


def test_reads_windows_and_old_mac_line_ends_with_the_same_line_numbers():
    for newline in ("\r\n", "\r"):
        request = parse_listfile(VALID_HEAD.replace("\n", newline) + f"ds:{TTBAR}{newline}")
        assert request.slices[0].line == 4


def test_skim_train_and_automatic_events_per_job():
    request = parse_listfile(VALID_HEAD + f"skim:No\ntrain:YES\nevents_per_job:Auto\nds:{TTBAR}\n")
    assert (request.skim, request.train, request.events_per_job) == (False, True, None)


def test_the_same_dataset_may_be_asked_again_for_other_formats():
    request = parse_listfile(VALID_HEAD + f"ds:{TTBAR}\nformats:DAOD_SUSY2\nds:{TTBAR}\n")
    assert [piece.formats for piece in request.slices] == [("DAOD_SUSY1",), ("DAOD_SUSY2",)]


@pytest.mark.parametrize(
    "line, message",
    [
        ("group", "expected 'key:value', got 'group'"),
        ("energy:13000", "unknown key 'energy': expected one of group, comment"),
        ("group:PHYS SUSY", "group 'PHYS SUSY' must be letters and digits"),
        ("group:GR_", "group 'GR_'"),
        ("owner:John Doe", "owner 'John Doe' must be one user name or e-mail address"),
        ("project:8TeV", "project '8TeV' must be a project name"),
        ("priority:high", "priority 'high' is not an integer"),
        ("priority:-1", "priority -1 must be at least 0"),
        ("priority:5.5", "priority '5.5' is not an integer"),
        ("priority:" + "9" * 5000, "priority '999"),
        ("events_per_job:0", "events_per_job 0 must be at least 1"),
        ("events_per_job:lots", "events_per_job 'lots' must be a positive integer or 'auto'"),
        ("events_per_job:00000000000001000000000", "events_per_job '00000000000001000000000' is too large"),
        ("skim:maybe", "skim 'maybe' must be 'yes' or 'no'"),
        ("train:", "train '' must be 'yes' or 'no'"),
        ("formats:", "'formats' is empty"),
        ("formats:DAOD_SUSY1..DAOD_SUSY2", "has an empty item"),
        ("formats:DAOD-SUSY1", "format 'DAOD-SUSY1' must be letters, digits and '_'"),
        ("formats:DAOD_SUSY1,daod_susy1", "name DAOD_SUSY1 more than once"),
        ("ds:mc14_8TeV.117050.ttbar.AOD", "ds 'mc14_8TeV.117050.ttbar.AOD': expected 6 dot-separated parts"),
        ("ds:mc14_8TeV.12a.ttbar.merge.AOD.e1", "dataset number '12a' is not a number"),
        ("ds:", "ds '': dataset name is empty"),
    ],
)
def test_reports_a_bad_line_with_its_number(line, message):
    group = "# no group" if line.startswith("group:") else "group:PHYS-SUSY"  # so the line isn't a duplicate
    lines = [group, "tag:p1872", "formats:DAOD_SUSY1", f"ds:{TTBAR}", line]
    if line.startswith("formats"):
        lines.append(f"ds:{WJETS}")
    errors = errors_of("\n".join(lines))
    assert len(errors) == 1
    assert errors[0][0] == 5
    assert message in errors[0][1]


def test_an_error_message_shows_long_values_shortened():
    (error,) = errors_of(VALID_HEAD + f"ds:{TTBAR}\npriority:" + "x" * 500)
    assert len(error[1]) < 150


@pytest.mark.parametrize("key", ["group", "comment", "owner", "project", "tag", "priority", "skim", "train"])
def test_a_repeated_scalar_key_is_an_error(key):
    value = {"group": "PHYS-SUSY", "tag": "p1872", "priority": "1", "skim": "yes", "train": "no"}.get(key, "x1")
    text = f"{key}:{value}\n" + VALID_HEAD + f"ds:{TTBAR}\n{key}:{value}\n"
    errors = errors_of(text)
    assert (6, f"duplicate '{key}': already given on line 1") in errors


def test_missing_group_tag_and_ds_are_whole_file_errors():
    assert errors_of("# nothing here\n\ncomment:hello\n") == [
        (0, "no 'group' line: expected e.g. group:PHYS-SUSY"),
        (0, "no 'tag' line: expected e.g. tag:p1872"),
        (0, "no 'ds' line: the file names no input dataset"),
    ]


def test_ds_lines_before_any_formats_are_reported_once():
    errors = errors_of(f"group:PHYS-SUSY\ntag:p1872\nds:{TTBAR}\nds:{WJETS}\nformats:DAOD_SUSY1\nds:{MUONS}\n")
    assert errors == [(3, "'ds' before any 'formats' line: put e.g. formats:DAOD_SUSY1 above")]


def test_formats_not_followed_by_a_ds_is_an_error():
    text = VALID_HEAD + f"ds:{TTBAR}\nformats:DAOD_SUSY2\nformats:DAOD_SUSY3\nds:{WJETS}\nformats:DAOD_SUSY4\n"
    assert errors_of(text) == [
        (5, "'formats' is not followed by any 'ds' line before it is replaced on line 6"),
        (8, "'formats' is not followed by any 'ds' line"),
    ]


def test_a_dataset_asked_twice_for_the_same_format_is_an_error():
    text = f"group:PHYS-SUSY\ntag:p1872\nformats:DAOD_SUSY1.DAOD_SUSY2\nds:{TTBAR}\nformats:DAOD_SUSY2\n"
    text += f"ds:mc14_8TeV:{TTBAR}\n"
    (error,) = errors_of(text)
    assert error[0] == 6
    assert error[1].endswith("DAOD_SUSY2 already requested on line 4")


def test_a_container_and_a_dataset_of_the_same_name_are_different_inputs():
    request = parse_listfile(VALID_HEAD + f"ds:{TTBAR}\nds:{TTBAR}/\n")
    assert len(request.slices) == 2


def test_every_error_of_the_file_is_reported_in_line_order():
    text = """\
        group:PHYS SUSY
        priority:high
        formats:DAOD_SUSY1
        ds:not-a-dataset
        colour:blue
        """
    errors = errors_of(text)
    assert [line for line, _ in errors] == [0, 1, 2, 4, 5]  # no "no 'ds' line": line 4 is one, though bad
    assert "no 'tag' line" in errors[0][1]


def test_the_error_text_names_each_line():
    with pytest.raises(ListFileError) as raised:
        parse_listfile("group:PHYS-SUSY\ntag:p1872\nformats:DAOD_SUSY1\nds:" + TTBAR + "\npriority:high\n")
    assert str(raised.value) == "line 5: priority 'high' is not an integer"
    assert isinstance(raised.value, ValueError)


def test_a_comment_line_may_start_after_spaces_but_not_after_a_value():
    request = parse_listfile("   # a comment\n" + VALID_HEAD + f"ds:{TTBAR}\n")
    assert request.slices[0].line == 5
    (error,) = errors_of(VALID_HEAD + f"ds:{TTBAR} # the ttbar sample\n")
    assert error[0] == 4


def test_decode_upload_reads_utf8_with_or_without_byte_order_mark():
    assert decode_upload("comment:Grüße\n".encode()) == "comment:Grüße\n"
    assert decode_upload(b"\xef\xbb\xbfgroup:PHYS-SUSY") == "group:PHYS-SUSY"


def test_decode_upload_rejects_other_encodings():
    with pytest.raises(ListFileError) as raised:
        decode_upload("comment:Grüße".encode("latin-1"))
    assert raised.value.errors == [(0, "file is not UTF-8 text")]


def test_bytes_are_refused_with_a_list_file_error():
    with pytest.raises(ListFileError, match="decode it first"):
        parse_listfile(EXAMPLE.encode())


def test_a_byte_order_mark_in_text_is_ignored():
    assert parse_listfile("\ufeff" + EXAMPLE) == parse_listfile(EXAMPLE)


def test_writes_formats_only_when_they_change():
    text = format_listfile(parse_listfile(EXAMPLE))
    assert [line for line in text.splitlines() if line.startswith(("formats", "ds"))] == [
        "formats:DAOD_SUSY1.DAOD_SUSY2",
        f"ds:{TTBAR}",
        f"ds:mc14_8TeV:{WJETS}",
        "formats:DAOD_SUSY3",
        f"ds:{MUONS}/",
    ]


def test_writes_a_file_that_reads_back_to_the_same_request():
    request = parse_listfile(EXAMPLE)
    assert parse_listfile(format_listfile(request)) == request


def test_refuses_to_write_a_value_that_does_not_fit_on_a_line():
    request = parse_listfile(EXAMPLE)
    with pytest.raises(ValueError, match="one line"):
        format_listfile(ListFileRequest(**{**request.__dict__, "comment": "two\nlines"}))


# -- generated requests and texts --------------------------------------------------------------------------

_datasets = st.builds(
    "{}{}.{}.{}.merge.AOD.{}{}".format,
    st.sampled_from(["", "mc14_8TeV:"]),
    st.sampled_from(["mc14_8TeV", "data12_8TeV", "mc15_13TeV"]),
    st.from_regex(r"[0-9]{6,8}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_-]{1,30}", fullmatch=True),
    st.lists(st.from_regex(r"[ersp][0-9]{1,4}", fullmatch=True), min_size=1, max_size=5).map("_".join),
    st.sampled_from(["", "/"]),
)
_formats = st.lists(st.from_regex(r"DAOD_[A-Z]{2,6}[0-9]{0,2}", fullmatch=True), min_size=1, max_size=4, unique=True)
_one_line = st.text(max_size=40).map(str.strip).filter(lambda text: "\n" not in text and "\r" not in text)


@st.composite
def requests(draw):
    formats = draw(st.lists(_formats.map(tuple), min_size=1, max_size=3))
    slices, used = [], set()
    for dataset in draw(st.lists(_datasets, min_size=1, max_size=8)):
        chosen = draw(st.sampled_from(formats))
        key = (dataset.split(":")[-1], chosen)
        if all((key[0], f) not in used for f in chosen):  # a format twice for a dataset is an error
            used.update((key[0], f) for f in chosen)
            slices.append(ListFileSlice(dataset, chosen))
    return ListFileRequest(
        group=draw(st.from_regex(r"PHYS-[A-Z]{2,8}", fullmatch=True)),
        comment=draw(_one_line),
        owner=draw(st.sampled_from(["", "jdoe", "jane.doe@cern.ch"])),
        project=draw(st.sampled_from(["", "mc14_8TeV", "data12_8TeV"])),
        ptag=draw(st.from_regex(r"p[0-9]{1,5}", fullmatch=True)),
        priority=draw(st.none() | st.integers(min_value=0, max_value=10**6)),
        events_per_job=draw(st.none() | st.integers(min_value=1, max_value=10**6)),
        skim=draw(st.booleans()),
        train=draw(st.booleans()),
        slices=tuple(slices),
    )


@settings(suppress_health_check=[HealthCheck.too_slow])  # generation is slow on a loaded machine, not wrong
@given(requests())
def test_a_generated_request_survives_a_round_trip(request):
    assert parse_listfile(format_listfile(request)) == request


def _check_outcome(text):
    """Whatever the text, the parser returns a request or lists errors with real line numbers."""
    try:
        result = parse_listfile(text)
    except ListFileError as error:
        assert error.errors
        last_line = len(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
        assert all(0 <= line <= last_line and message for line, message in error.errors)
    else:
        assert isinstance(result, ListFileRequest)
        assert result.slices


_key_lines = st.builds("{}:{}".format, st.sampled_from(KEYS), st.text(max_size=30))


@given(st.text() | st.lists(_key_lines | st.text(max_size=30)).map("\n".join))
def test_any_text_gives_a_request_or_list_file_errors(text):
    _check_outcome(text)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(requests(), st.data())
def test_a_mutated_valid_file_gives_a_request_or_list_file_errors(request, data):
    lines = format_listfile(request).splitlines()
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        where = data.draw(st.integers(min_value=0, max_value=len(lines)))
        mutation = data.draw(st.sampled_from(["drop", "repeat", "replace", "insert", "cut"]))
        if mutation == "insert" or not lines or where == len(lines):
            lines.insert(where, data.draw(_key_lines | st.text(max_size=20)))
        elif mutation == "drop":
            del lines[where]
        elif mutation == "repeat":
            lines.insert(where, lines[where])
        elif mutation == "replace":
            lines[where] = data.draw(_key_lines)
        else:
            lines[where] = lines[where][: data.draw(st.integers(min_value=0, max_value=len(lines[where])))]
    _check_outcome("\n".join(lines))
