"""Builders for policy scenarios: a valid person paying in the 2025 collection period unless a test says otherwise."""
from __future__ import annotations

from datetime import date
from typing import Any

from shared.policy import Assessment, assess, parse_scenario
from tests.support.people import resident_id


def scenario_data(region: str = "340321", *, born: date | str = date(1980, 1, 1), hukou: str | None = None,
                  residence: str | None = None, **fields: Any) -> dict[str, Any]:
    """Scenario JSON: a person born `born` with hukou in `region`, paying in the 2025 collection period."""
    born = date.fromisoformat(born) if isinstance(born, str) else born
    person = {"id": resident_id(region, born), "hukou_region": hukou or region}
    if residence:
        person["residence_region"] = residence
    data = {"region": region, "year": 2025, "person": person, "kind": "general", "payment_date": "2024-10-15"}
    data.update({k: v.isoformat() if isinstance(v, date) else v for k, v in fields.items()})
    return data


def quote(region: str = "340321", **kw: Any) -> Assessment:
    return assess(parse_scenario(scenario_data(region, **kw)))


def status(category: str, certified_on: str = "2024-03-01", ended_on: str | None = None) -> dict[str, Any]:
    return {"category": category, "certified_on": certified_on, "ended_on": ended_on}
