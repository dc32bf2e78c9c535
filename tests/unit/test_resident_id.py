"""GB 11643 resident IDs: check character, birth date, Excel damage, masking, the person key."""
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.resident_id import (
    InvalidResidentId,
    check_character,
    mask,
    normalize,
    parse_resident_id,
    person_key,
    valid_resident_id,
)


def make(first17: str) -> str:
    return first17 + check_character(first17)


def test_the_standards_worked_example_has_check_character_x():
    # GB 11643-1999 annex example: 11010519491231002X
    assert check_character("11010519491231002") == "X"
    assert parse_resident_id("11010519491231002X").birth_date == date(1949, 12, 31)


def test_lower_case_x_full_width_digits_and_spaces_are_normalised():
    assert parse_resident_id(" １１０１０５１９４９１２３１００２x\u3000").value == "11010519491231002X"


def test_a_region_code_newer_than_the_birth_date_is_still_valid():
    # 341522 (霍邱县) IDs are held by people born long before some code changes; stdnum would refuse.
    person = parse_resident_id(make("34152219300101001"))
    assert person.region_code == "341522"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("11010519491231002Y", "id_characters"),
        ("110105194912310021", "id_check_character"),
        ("1101051949123100", "id_length"),
        ("11010519490231002X", "id_birth_date"),
        ("3.40321E+17", "id_excel_number"),
        ("340321198001010000", "id_excel_number"),
    ],
)
def test_invalid_ids_are_refused_with_a_reason(text, code):
    with pytest.raises(InvalidResidentId) as err:
        parse_resident_id(text)
    assert err.value.code == code
    assert err.value.reason


def test_a_birth_date_after_the_day_of_submission_is_refused():
    with pytest.raises(InvalidResidentId, match="不可能"):
        parse_resident_id(make("34032120300101001"), today=date(2024, 11, 1))


def test_mask_keeps_region_and_last_two_only():
    assert mask("11010519491231002X") == "110105**********2X"


def test_person_key_is_stable_and_does_not_contain_the_id():
    key = person_key("11010519491231002x")
    assert key == person_key("11010519491231002X")
    assert "110105" not in key and len(key) == 20


_ID_LIKE = st.one_of(
    st.builds(lambda first17: first17 + check_character(first17), st.from_regex(r"\A\d{17}\Z")),
    st.from_regex(r"\A[\d Xx０-９]{16,19}\Z"),
    st.text(max_size=20),
)


@given(_ID_LIKE)
def test_the_fast_check_agrees_with_the_full_parse(text):
    """valid_resident_id's shortcut must accept and refuse exactly what parse_resident_id does."""
    try:
        expected = parse_resident_id(text).value
    except InvalidResidentId as err:
        with pytest.raises(InvalidResidentId) as raised:
            valid_resident_id(text)
        assert raised.value.code == err.code
    else:
        assert valid_resident_id(text) == expected


@given(_ID_LIKE)
def test_the_person_key_is_the_key_of_the_normalised_id(text):
    assert person_key(text) == person_key(normalize(text))
