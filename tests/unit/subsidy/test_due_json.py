"""The due written as JSON directly (services/subsidy/due_json.py) is what pydantic writes for the validated
`DueAssessed`, byte for byte: the event, and the cache's entry (cache.FIELDS), for any due a row can hold —
reasons with quotes, backslashes, control characters and Chinese, every kind of subsidy line, the payer's
statuses and history, any instant and offset."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from services.subsidy import due_json
from services.subsidy.cache import FIELDS
from services.subsidy.domain.dues import Due
from services.subsidy.store import DueRow
from shared.messages import DueAssessed, PayerFacts, StatusFact, SubsidyLine
from tests.support.people import resident_id

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)  # a lone surrogate is no UTF-8 at all
fen = st.integers(-10**9, 10**9)
days = st.dates(date(1990, 1, 1), date(2030, 12, 31))
lines = st.tuples(text, fen, text, st.sampled_from(("net", "refund_after")))
statuses = st.fixed_dictionaries({"category": text, "certified_on": days | days.map(date.isoformat),
                                  "ended_on": st.none() | days | days.map(date.isoformat)})
payers = st.fixed_dictionaries({
    "kind": text, "event_date": st.none() | days.map(date.isoformat), "statuses": st.lists(statuses, max_size=3),
    "enrolled_years": st.lists(st.integers(2000, 2100), max_size=3),
    "paid_back_years": st.lists(st.integers(2000, 2100), max_size=2)})
instants = st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1), timezones=st.sampled_from(
    (UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30)))))
dues = st.builds(Due, fen, fen, fen, fen, st.lists(lines, max_size=3).map(tuple), st.lists(text, max_size=3).map(tuple))
rows = st.builds(DueRow, st.builds(lambda seq: resident_id("340321", seq=seq), st.integers(0, 999)),
                 st.integers(2000, 2100), st.sampled_from(("340321", "341522", "610900")), st.none() | text, dues,
                 st.integers(1, 10**6), st.sampled_from(("active", "ended")), payers)


def validated(row: DueRow, message_id, now: datetime) -> DueAssessed:
    """The event as a consumer validates it: the contract's one definition."""
    due, payer = row.due, row.payer
    return DueAssessed(
        message_id=message_id, occurred_at=now, person_id=row.person_id, region=row.region, year=row.year,
        standard_fen=due.standard_fen, subsidy_fen=due.subsidy_fen, due_fen=due.due_fen,
        refund_after_fen=due.refund_after_fen, revision=row.revision, reasons=list(due.reasons), state=row.state,
        lines=[SubsidyLine(category=c, amount_fen=a, funding_source=f, mode=m) for c, a, f, m in due.lines],
        payer=PayerFacts(kind=payer["kind"], event_date=payer["event_date"],
                         statuses=tuple(StatusFact(**s) for s in payer["statuses"]),
                         enrolled_years=tuple(payer["enrolled_years"]),
                         paid_back_years=tuple(payer["paid_back_years"])))


@settings(max_examples=400, deadline=None)
@given(rows, instants)
def test_the_event_and_the_cache_entry_are_what_pydantic_writes(row, now):
    message_id = uuid4()
    model = validated(row, message_id, now)
    assert due_json.event(row, message_id, now) == model.model_dump_json().encode()
    assert due_json.cached(row) == (row.person_id, row.year, row.revision, model.model_dump_json(include=FIELDS))


def test_a_reason_with_quotes_and_a_line_break_is_escaped_as_pydantic_escapes_it():
    due = Due(40000, 34000, 6000, 0, (("minimum_living", 34000, "medical_assistance", "net"),),
              ('低保对象定额资助340元（"第三条"）', "第二行\n\\结束\x01"))
    row = DueRow(resident_id("340321"), 2025, "340321", None, due, 3, "active",
                 {"kind": "general", "event_date": None, "statuses": [], "enrolled_years": [2024],
                  "paid_back_years": []})
    now = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    sent = due_json.event(row, uuid4(), now)
    assert b'\\"\xe7\xac\xac' in sent and b"\\n\\\\" in sent and b"\\u0001" in sent and b'"2026-11-22T08:00:00Z"' in sent
    assert DueAssessed.model_validate_json(sent).reasons == list(due.reasons)
