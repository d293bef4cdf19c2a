"""Any list file gives a draft request or line-numbered errors: never an exception, never a partial write."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from requests_app import services
from requests_app.models import ProductionRequest, Slice

KNOWN = [
    "mc14_8TeV.117050.PowhegPythia_P2011C_ttbar.merge.AOD.e1727_s1933_s1911_r5591_r5625",
    "mc14_8TeV.117051.PowhegPythia_P2011C_ttbar.merge.AOD.e1727_s1933_s1911_r5591_r5625",
]
LINES = st.one_of(
    st.sampled_from(["group:PHYS-SUSY", "group:GR_SUSY", "group:PHYS-TOP", "group:PHYS-NOPE", "group:"]),
    st.sampled_from(["tag:p1872", "tag:p9999", "tag:x1"]),
    st.sampled_from(["formats:DAOD_SUSY1", "formats:DAOD_SUSY1.DAOD_SUSY2", "formats:DAOD_HIGG2D1", "formats:"]),
    st.sampled_from([f"ds:{n}" for n in KNOWN] + ["ds:mc14_8TeV.999999.X.merge.AOD.e1_r2", "ds:nonsense", "ds:"]),
    st.sampled_from(["priority:560", "priority:900", "priority:-1", "events_per_job:auto", "events_per_job:0"]),
    st.sampled_from(["comment:hello", "project:mc14_8TeV", "project:" + "x" * 80, "skim:no", "train:maybe", "#"]),
    st.text(max_size=40),
)


def counts():
    return ProductionRequest.objects.count(), Slice.objects.count()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(LINES, max_size=12), separator=st.sampled_from(["\n", "\r\n", "\r"]))
def test_any_list_file_gives_a_request_or_line_numbered_errors(susy_manager, ptag, aods, lines, separator):
    text = separator.join(lines)
    before = counts()
    try:
        request = services.request_import(actor=susy_manager, text=text)
    except services.RequestInvalid as invalid:
        assert invalid.problems
        assert all(isinstance(line, int) and line >= 0 for line, _ in invalid.problems), invalid.problems
        assert counts() == before
    else:
        assert counts() == (before[0] + 1, before[1] + request.slices.count())
        assert request.status == "draft" and request.slices.exists()
