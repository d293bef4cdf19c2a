"""RSE expressions: what each term selects, left-to-right evaluation, errors, and the choice of a destination."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog.rse_expression import RSEExpressionError, choose_endpoint, evaluate, parse

TB = 10**12


def rse(name, type_, site, cloud, tier, physgroup="", **extra):
    return {
        "name": name,
        "type": type_,
        "site": site,
        "cloud": cloud,
        "tier": tier,
        "physgroup": physgroup,
        **extra,
    }


ENDPOINTS = [
    rse("CERN-PROD_PHYS-SUSY", "GROUPDISK", "CERN-PROD", "CERN", "0", "phys-susy", free_bytes=5 * TB),
    rse("CERN-PROD_DATADISK", "DATADISK", "CERN-PROD", "CERN", "0", free_bytes=50 * TB),
    rse("DESY-HH_PHYS-SUSY", "GROUPDISK", "DESY-HH", "DE", "2", "phys-susy", free_bytes=8 * TB),
    rse("DESY-HH_PRODDISK", "PRODDISK", "DESY-HH", "DE", "2", free_bytes=1 * TB),
    rse("LAPP_PHYS-TOP", "GROUPDISK", "LAPP", "FR", "2", "phys-top", free_bytes=3 * TB),
    rse("LAPP_SCRATCHDISK", "SCRATCHDISK", "LAPP", "FR", "2", free_bytes=2 * TB),
    rse("INFN-T1_DATADISK", "DATADISK", "INFN-T1", "IT", "1", free_bytes=20 * TB, istape=True),
    rse("RAL-LCG2_PHYS-SUSY", "GROUPDISK", "RAL-LCG2", "UK", "1", "phys-susy", free_bytes=8 * TB),
]


def names(expression, endpoints=ENDPOINTS):
    return [endpoint["name"] for endpoint in evaluate(expression, endpoints)]


def test_selects_the_group_disks_of_a_physics_group_in_input_order():
    assert names("type=GROUPDISK&physgroup=phys-susy") == [
        "CERN-PROD_PHYS-SUSY",
        "DESY-HH_PHYS-SUSY",
        "RAL-LCG2_PHYS-SUSY",
    ]


def test_parentheses_group_a_union():
    assert names("tier=2&(cloud=DE|cloud=FR)") == [
        "DESY-HH_PHYS-SUSY",
        "DESY-HH_PRODDISK",
        "LAPP_PHYS-TOP",
        "LAPP_SCRATCHDISK",
    ]


def test_difference_removes_the_right_side():
    assert names("GROUPDISK\\site=CERN-PROD") == ["DESY-HH_PHYS-SUSY", "LAPP_PHYS-TOP", "RAL-LCG2_PHYS-SUSY"]


def test_a_bare_rse_name_selects_that_endpoint():
    assert names("CERN-PROD_PHYS-SUSY") == ["CERN-PROD_PHYS-SUSY"]


def test_a_bare_key_selects_endpoints_where_that_attribute_is_true():
    assert names("istape") == ["INFN-T1_DATADISK"]
    assert names("istape", [{"name": "X", "istape": "True"}, {"name": "Y", "istape": "False"}]) == ["X"]


def test_an_endpoint_whose_own_name_is_a_true_attribute_is_selected_by_it():
    # what StorageEndpoint.rse_attributes() offers, after Rucio
    assert names("site-a_disk", [{"name": "other", "SITE-A_DISK": True}]) == ["other"]


def test_names_keys_and_values_compare_case_insensitively():
    assert names("cern-prod_phys-susy") == ["CERN-PROD_PHYS-SUSY"]
    assert names("TYPE=groupdisk&PhysGroup=PHYS-TOP") == ["LAPP_PHYS-TOP"]


def test_numeric_comparisons_skip_endpoints_without_a_number():
    endpoints = [{"name": "A", "freespace": 2000}, {"name": "B", "freespace": "500"}, {"name": "C"}]
    endpoints.append({"name": "D", "freespace": "lots"})
    assert names("freespace>1000", endpoints) == ["A"]
    assert names("freespace<1000", endpoints) == ["B"]
    assert names("freespace>-1.5", endpoints) == ["A", "B"]


def test_equality_with_a_number_compares_numerically():
    assert names("tier=1", [{"name": "A", "tier": 1}, {"name": "B", "tier": 1.0}, {"name": "C", "tier": "01"}]) == [
        "A",
        "B",
    ]


def test_star_selects_everything():
    assert names("*") == [endpoint["name"] for endpoint in ENDPOINTS]
    assert names("*\\type=GROUPDISK") == [e["name"] for e in ENDPOINTS if e["type"] != "GROUPDISK"]


def test_operators_apply_left_to_right_without_precedence():
    assert names("cloud=DE|cloud=FR&type=GROUPDISK") == names("(cloud=DE|cloud=FR)&type=GROUPDISK")
    assert names("cloud=DE|cloud=FR&type=GROUPDISK") != names("cloud=DE|(cloud=FR&type=GROUPDISK)")
    assert str(parse("a|b&c\\d")) == "(((a|b)&c)\\d)"


def test_spaces_between_tokens_are_ignored():
    assert names(" type = GROUPDISK & ( cloud=DE | cloud=UK ) ") == ["DESY-HH_PHYS-SUSY", "RAL-LCG2_PHYS-SUSY"]


def test_an_expression_matching_nothing_gives_an_empty_list():
    assert names("physgroup=phys-exotics") == []


def test_accepts_objects_offering_rse_attributes():
    class Endpoint:
        def __init__(self, name, **attributes):
            self.attributes = {"name": name, **attributes}

        def rse_attributes(self):
            return self.attributes

    endpoints = [Endpoint("A", type="GROUPDISK"), Endpoint("B", type="DATADISK")]
    assert evaluate("GROUPDISK", endpoints) == [endpoints[0]]


def test_accepts_a_parsed_expression():
    assert names(parse("cloud=UK")) == ["RAL-LCG2_PHYS-SUSY"]


def test_rejects_an_endpoint_that_is_neither_a_mapping_nor_has_attributes():
    with pytest.raises(TypeError):
        evaluate("*", [object()])


@pytest.mark.parametrize(
    "expression, message, position",
    [
        ("", "empty expression", 1),
        ("   ", "empty expression", 1),
        ("a|", "dangling operator '|' at position 2", 2),
        ("a&&b", "dangling operator '&' at position 2", 2),
        ("(a|)", "dangling operator '|' at position 3", 3),
        ("&a", "empty term: expected a term at position 1", 1),
        ("()", "empty parentheses at position 1", 1),
        ("(a&(b|c)", "unbalanced parenthesis: '(' at position 1 is never closed", 1),
        ("a)|b", "unbalanced parenthesis: ')' at position 2 has no matching '('", 2),
        (")a", "unbalanced parenthesis: ')' at position 1", 1),
        ("a b", "expected an operator", 3),
        ("(a)(b)", "expected an operator", 4),
        ("a=", "expected a value after '=' at position 2", 2),
        ("a=(b)", "expected a value after '='", 2),
        ("=a", "expected an attribute name before '=' at position 1", 1),
        ("a=b=c", "expected an operator", 4),
        ("free>lots", "expected a number after '>'", 6),
        ("type=GROUP DISK", "expected an operator", 12),
        ("type=GROUPDISK;cloud=DE", "unexpected character ';' at position 15", 15),
        ("cloud=DÉ", "unexpected character 'É' at position 8", 8),
    ],
)
def test_rejects_malformed_expressions_naming_the_position(expression, message, position):
    with pytest.raises(RSEExpressionError, match=message.replace("(", r"\(").replace(")", r"\)")) as raised:
        parse(expression)
    assert raised.value.position == position


def test_expression_errors_are_value_errors():
    assert issubclass(RSEExpressionError, ValueError)


ATOMS = [
    "*",
    "type=GROUPDISK",
    "type=DATADISK",
    "cloud=DE",
    "cloud=FR",
    "tier=2",
    "tier>0",
    "free_bytes<4000000000000",
    "physgroup=phys-susy",
    "istape",
    "LAPP",  # matches nothing: no endpoint has that name, attribute or type
    "DESY-HH_PRODDISK",
    "GROUPDISK",
]
ALL = {endpoint["name"] for endpoint in ENDPOINTS}


def expressions():
    """(text, expected set of names) pairs built from random trees; expected by set algebra, not the parser."""
    atom = st.sampled_from(ATOMS).map(lambda text: (text, set(names(text))))

    def combine(children):
        return st.builds(_combine, st.sampled_from("&|\\"), children, children, st.booleans(), st.booleans())

    return st.recursive(atom, combine, max_leaves=12)


def _combine(operator, left, right, wrap_left, spaced):
    (left_text, left_set), (right_text, right_set) = left, right
    if wrap_left:  # optional: left to right already groups the left side
        left_text = f"({left_text})"
    gap = " " if spaced else ""
    text = f"{left_text}{gap}{operator}{gap}({right_text})"
    result = {"&": left_set & right_set, "|": left_set | right_set, "\\": left_set - right_set}[operator]
    return text, result


@given(expressions())
def test_evaluation_agrees_with_set_algebra(case):
    text, expected = case
    assert set(names(text)) == expected
    assert names(text) == [endpoint["name"] for endpoint in ENDPOINTS if endpoint["name"] in expected]


@given(st.lists(st.tuples(st.sampled_from("&|\\"), st.sampled_from(ATOMS)), max_size=6), st.sampled_from(ATOMS))
def test_a_chain_without_parentheses_folds_from_the_left(chain, first):
    expected = set(names(first))
    text = first
    for operator, atom in chain:
        atom_set = set(names(atom))
        expected = {"&": expected & atom_set, "|": expected | atom_set, "\\": expected - atom_set}[operator]
        text += operator + atom
    assert set(names(text)) == expected


@given(st.text(alphabet=st.sampled_from("ab=<>1&|\\()* #é"), max_size=20) | st.text(max_size=20))
def test_any_text_parses_or_raises_an_expression_error(text):
    try:
        expr = parse(text)
    except RSEExpressionError as error:
        assert 0 < error.position <= len(text) + 1
    else:
        # the canonical form means the same thing
        assert names(str(expr)) == names(expr)


def test_choose_endpoint_takes_the_match_with_most_free_space():
    chosen = choose_endpoint("type=GROUPDISK&physgroup=phys-susy", ENDPOINTS[:3], needed_bytes=TB)
    assert chosen["name"] == "DESY-HH_PHYS-SUSY"


def test_choose_endpoint_breaks_ties_by_name():
    chosen = choose_endpoint("type=GROUPDISK&physgroup=phys-susy", list(reversed(ENDPOINTS)), needed_bytes=TB)
    assert chosen["name"] == "DESY-HH_PHYS-SUSY"  # 8 TB like RAL-LCG2_PHYS-SUSY, and sorts first


def test_choose_endpoint_skips_endpoints_without_enough_free_space():
    chosen = choose_endpoint("physgroup=phys-susy", ENDPOINTS, needed_bytes=6 * TB)
    assert chosen["name"] == "DESY-HH_PHYS-SUSY"
    assert choose_endpoint("physgroup=phys-susy", ENDPOINTS, needed_bytes=9 * TB) is None


def test_choose_endpoint_accepts_exactly_enough_space():
    assert choose_endpoint("*", [{"name": "A", "free_bytes": 100}], needed_bytes=100)["name"] == "A"


def test_choose_endpoint_skips_unavailable_endpoints():
    endpoints = [
        {"name": "A", "free_bytes": 9 * TB, "available": False},
        {"name": "B", "free_bytes": 8 * TB, "available": "false"},
        {"name": "C", "free_bytes": 1 * TB},
        {"name": "D", "free_bytes": 2 * TB, "available": True},
    ]
    assert choose_endpoint("*", endpoints, needed_bytes=1)["name"] == "D"


def test_choose_endpoint_counts_a_missing_free_space_as_none():
    endpoints = [{"name": "A"}, {"name": "B", "free_bytes": "10"}]
    assert choose_endpoint("*", endpoints, needed_bytes=5)["name"] == "B"
    assert choose_endpoint("*", endpoints, needed_bytes=11) is None


def test_choose_endpoint_returns_none_when_nothing_matches():
    assert choose_endpoint("physgroup=phys-exotics", ENDPOINTS, needed_bytes=0) is None


def test_choose_endpoint_rejects_a_bad_expression_even_without_endpoints():
    with pytest.raises(RSEExpressionError):
        choose_endpoint("type=GROUPDISK&", [], needed_bytes=0)


def test_choose_endpoint_keeps_byte_counts_exact():
    endpoints = [{"name": "A", "free_bytes": 2**60 + 1}, {"name": "B", "free_bytes": 2**60}]
    assert choose_endpoint("*", endpoints, needed_bytes=2**60 + 1)["name"] == "A"
