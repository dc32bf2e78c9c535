"""Use cases of last year's enrollment: import the county's list, and the 未续保 list per village from it.

`import_prior_enrollment` reads the list (XLSX, or CSV in UTF-8 or GB18030), records the file once
by its bytes for the region and year (the same file sent again is recognised and not applied twice),
keeps every refused row with its reason, and upserts the rest by person (a corrected list replaces
the earlier line). A file that cannot be read at all raises `sheet_reader.SheetRefused`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from services.reconciliation import season_store
from services.reconciliation.domain import files, prior_year, renewals, village_book
from services.reconciliation.usecases.reports import collection_window
from shared.policy import PolicyError, load_pack
from shared.uow import UnitOfWork


async def import_prior_enrollment(uow: UnitOfWork, *, name: str, content: bytes, region: str,
                                  year: int) -> dict[str, Any]:
    """Last year's list (`year`: the coverage year it is of) for `region`; rows in = accepted + rejected."""
    prior = prior_year.read_prior_enrollment(content, region=region, year=year)
    file_id, new = await season_store.start_import(uow.conn, name, content, region, year, prior.parsed, uow.now)
    if new and prior.parsed.rows:
        await season_store.save_prior(uow.conn, region, file_id, prior.parsed.rows)
    return {**files.summary(file_id, new, prior.parsed), "region": region, "year": year, "format": prior.format,
            "unknown_headers": prior.unknown_headers, "not_people": prior.ignored}


@dataclass(frozen=True)
class ChaseList:
    """The 未续保 list of a region-year as of a day, ranked, and cut per village."""

    region: str
    year: int
    day: date
    has_pack: bool
    listed: list[renewals.Listed]

    @property
    def villages(self) -> dict[tuple[str, str], list[renewals.Listed]]:
        return renewals.by_village(self.listed)

    def as_json(self) -> dict[str, Any]:
        return {"region": self.region, "year": self.year, "day": self.day.isoformat(), "people": len(self.listed),
                "vulnerable": sum(p.vulnerable for p in self.listed),
                "villages": [{**count, "people_listed": [listed_json(p) for p in self.villages[(count["township"],
                                                                                                   count["village"])]]}
                             for count in renewals.village_counts(self.villages)]}

    def workbook(self) -> bytes:
        return village_book.workbook(self.villages)


def listed_json(p: renewals.Listed) -> dict[str, Any]:
    return {"person": p.person, "name": p.name, "township": p.township, "village": p.village, "reasons": p.reasons,
            "vulnerable": p.vulnerable, "categories": list(p.categories), "enrolled_last_year": p.enrolled_last_year,
            "last_year_category": p.last_year_category,
            "last_year_paid_on": p.last_year_paid_on.isoformat() if p.last_year_paid_on else None, "state": p.state,
            "path": p.deadline.path if p.deadline else None,
            "last_day": p.deadline.last_day.isoformat() if p.deadline else None, "days_left": p.days_left}


async def not_renewed(uow: UnitOfWork, region: str, year: int, day: date) -> ChaseList:
    """Everyone enrolled last year and not yet this year, and every vulnerable person not yet enrolled, ranked
    per village as of `day` (`domain.renewals`)."""
    try:
        pack = load_pack(region, year)
    except PolicyError:  # no pack: the list still stands, without the days left
        pack = None
    rows = await season_store.to_chase(uow.conn, region, year)
    candidates = [renewals.Candidate(
        person_id=r["person_id"], name=r["name"], township=r["township"], village=r["village"],
        enrolled_last_year=r["enrolled_last_year"], last_year_category=r["last_year_category"],
        last_year_paid_on=r["last_year_paid_on"], statuses=renewals.spans_of(r["statuses"]), state=r["state"],
        kind=r["kind"]) for r in rows]
    return ChaseList(region, year, day, pack is not None,
                     renewals.rank(candidates, pack, collection_window(region, year), day))
