"""Enrollment's events folded into one row per person and year: registered, paid or ended, and where.

Events of a batch are applied in order on top of what is held. A payment books its
receipt; an end is final until the person registers again, which restores paid or
registered by what was paid. A registration a fund pays for (`funded_by`: the whole
contribution subsidised, 资助参保) is paid with nothing paid by the person; announced
again without a fund (the subsidy withdrawn before the cover began), it is registered. A gap
year paid back (补缴) books its receipt to the gap year and changes no row.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from shared.messages import EnrollmentEnded, EnrollmentPaid, EnrollmentRegistered
from shared.messages.enrollment import EnrollmentEvent, EnrollmentPaidBack


@dataclass(slots=True)
class EnrollmentYear:
    person_id: str
    year: int
    region: str
    township: str | None
    village: str | None
    kind: str | None
    state: str  # registered | paid | ended
    paid_total_fen: int


@dataclass(frozen=True, slots=True)
class Booking:
    """A receipt enrollment booked to a person-year."""

    receipt_no: str
    person_id: str
    year: int
    region: str
    amount_fen: int


def fold(known: Mapping[tuple[str, int], EnrollmentYear],
         events: Iterable[EnrollmentEvent]) -> tuple[list[EnrollmentYear], list[Booking]]:
    """The rows of every person-year the events touch, and the receipts they book. `known` is left as it was."""
    rows: dict[tuple[str, int], EnrollmentYear] = {}
    bookings: list[Booking] = []
    for e in events:
        if isinstance(e, EnrollmentPaidBack):  # a gap year paid back: booked to the gap year, no row changes
            bookings.append(Booking(e.receipt_no, e.person_id, e.gap_year, e.region, e.amount_fen))
            continue
        key = (e.person_id, e.year)
        row = rows.get(key)
        if row is None:
            held = known.get(key)
            row = rows[key] = replace(held) if held else EnrollmentYear(
                e.person_id, e.year, e.region, None, None, None, "registered", 0)
        row.region = e.region
        row.township = e.township or row.township
        row.village = e.village or row.village
        if isinstance(e, EnrollmentRegistered):
            row.kind = e.kind
            if e.funded_by is not None:
                row.state = "paid"
            elif row.state == "ended" or (row.state == "paid" and row.paid_total_fen <= 0):
                row.state = "paid" if row.paid_total_fen > 0 else "registered"
        elif isinstance(e, EnrollmentPaid):
            row.paid_total_fen = e.paid_total_fen
            if row.state != "ended":
                row.state = "paid" if e.paid_total_fen > 0 else "registered"
            bookings.append(Booking(e.receipt_no, e.person_id, e.year, e.region, e.amount_fen))
        elif isinstance(e, EnrollmentEnded):
            row.state = "ended"
    return list(rows.values()), bookings
