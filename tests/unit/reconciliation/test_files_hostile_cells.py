"""Whatever one cell of an uploaded file holds, the readers refuse that line with a reason and go on.

A cell the readers did not expect used to escape as a 500 for the whole file (a superscript "²" passes
str.isdigit() but not int(); "Infinity" is a Decimal but no fen; a year or target too large for the
database's integer), so this checks every field of every file with hypothesis.
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.reconciliation.domain.files import LineError, read_agent_deposits, read_settlement, read_targets
from tests.support.people import resident_id

P = resident_id("340321", seq=21)
GOOD = {
    read_settlement: {"settlement_ref": "S1", "settled_on": "2024-10-02", "region": "340321", "channel": "wechat",
                      "pay_date": "2024-10-01", "receipt_no": "R1", "amount": "400.00"},
    read_agent_deposits: {"agent_id": "A1", "line_ref": "L1", "region": "340321", "year": "2025", "person_id": P,
                          "amount": "400", "collected_on": "2024-10-01", "deposited_on": "2024-10-02"},
    read_targets: {"region": "340321", "year": "2025", "township": "榴城镇", "target_people": "1200"},
}
HOSTILE = ["²", "１２３", "Infinity", "-Infinity", "NaN", "sNaN", "1e999999", "99999999999999999999",
           "9" * 30, "0x10", "2025.0", "-1", " ", "٢٠٢٥"]
cells = st.one_of(st.sampled_from(HOSTILE), st.text(st.characters(exclude_characters=',"\r\n'), max_size=30))


def _file(fields: dict[str, str]) -> str:
    return ",".join(fields) + "\n" + ",".join(fields.values()) + "\n" + ",".join(fields.values()).replace("1", "2") + "\n"


@pytest.mark.parametrize("reader", list(GOOD), ids=lambda r: r.__name__)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_cell_is_taken_or_refused_with_a_reason(reader, data) -> None:
    fields = dict(GOOD[reader])
    name = data.draw(st.sampled_from(list(fields)))
    fields[name] = data.draw(cells)
    parsed = reader(_file(fields))
    assert len(parsed.rows) + len(parsed.rejected) == parsed.lines_in
    for row in parsed.rows:  # what is taken fits the database: int years and targets, bigint fen
        for value in (getattr(row, "year", 2025), getattr(row, "target_people", 1), getattr(row, "amount_fen", 0)):
            assert -(2**63) <= value < 2**63
        assert 0 < getattr(row, "year", 2025) < 2**31 and 0 < getattr(row, "target_people", 1) < 2**31
    for _, _, reason in parsed.rejected:
        assert reason.startswith("第")


@pytest.mark.parametrize("reader", list(GOOD), ids=lambda r: r.__name__)
def test_a_lone_carriage_return_ends_a_line(reader) -> None:
    fields = GOOD[reader]
    parsed = reader(",".join(fields) + "\r" + ",".join(fields.values()) + "\r")
    assert parsed.lines_in == 1 and len(parsed.rows) == 1


@pytest.mark.parametrize("reader", list(GOOD), ids=lambda r: r.__name__)
def test_an_unreadable_file_is_refused_with_the_line_where_reading_stopped(reader) -> None:
    fields = GOOD[reader]
    huge = ",".join(fields) + "\n" + ",".join(fields.values()) + '\n"' + "x" * 200_000 + '"\n'
    with pytest.raises(LineError, match="第3行无法按 CSV 读取"):
        reader(huge)
