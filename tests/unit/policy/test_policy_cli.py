"""`yibao quote`: JSON in, JSON out; bad input exits non-zero with one line naming the field."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.unit.policy.builders import scenario_data, status

runner = CliRunner()


def _run(data: object, *args: str):
    text = data if isinstance(data, str) else json.dumps(data)
    return runner.invoke(app, ["quote", *args], input=text)


def test_quote_prints_the_assessment_in_fen_and_cny() -> None:
    result = _run(scenario_data("340321", statuses=[status("minimum_living")]))
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["due"], out["due_fen"], out["standard"], out["subsidy_total"]) == (60, 6000, 400, 340)
    assert out["subsidies"] == [{"category": "minimum_living", "basis": "status", "amount_fen": 34000, "amount": 340,
                                 "funding_source": "medical_assistance", "mode": "net"}]
    for field in ("allowed", "refund_after", "benefit_start", "benefit_end", "waiting_months", "waiting_days",
                  "critical_illness_cap_adjustment", "reasons"):
        assert field in out


def test_explain_prints_reasons_for_people() -> None:
    result = _run(scenario_data("340321", statuses=[status("minimum_living")]), "--explain")
    assert result.exit_code == 0
    assert "应缴 60 元" in result.stdout and "低保对象：资助340元" in result.stdout and "第85-87行" in result.stdout


def _with(path: str, value: object) -> dict:
    data = scenario_data("340321")
    node = data
    *parents, last = path.split(".")
    for p in parents:
        node = node[int(p)] if p.isdigit() else node[p]
    node[last] = value
    return data


@pytest.mark.parametrize(("data", "field"), [
    (_with("person.id", "340321198001011230"), "person.id"),             # wrong check character
    (_with("person.id", "340321198002301234"), "person.id"),             # 30 February
    (_with("region", "999999"), "region"),                               # no such place
    (_with("region", "110101"), "region"),                               # a place with no pack
    (_with("year", 2031), "year"),
    (_with("kind", "tourist"), "kind"),
    (_with("statuses", [{"category": "rich", "certified_on": "2024-01-01"}]), "statuses.0.category"),
    (_with("statuses", [status("orphan", "2024-05-01", "2024-04-01")]), "statuses.0.ended_on"),
    (_with("payment_date", "1979-12-31"), "payment_date"),               # paid before birth
    (_with("event_date", "2024-11-01"), "event_date"),                   # event after payment
    (_with("person.birth_date", "1980-01-02"), "person.birth_date"),     # disagrees with the ID
    (_with("enrolled_years", [2025]), "enrolled_years"),
    (_with("surprise", 1), "surprise"),
    ("{not json", "stdin"),
])
def test_invalid_input_exits_non_zero_naming_the_field(data: object, field: str) -> None:
    result = _run(data)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{field}: "), result.stderr


def test_a_kind_outside_a_packs_scope_names_kind() -> None:
    result = _run(_with("year", 2024))  # the 2024 pack covers newborns only
    assert result.exit_code == 2 and result.stderr.startswith("kind: ")


def test_the_id_is_never_echoed_whole() -> None:
    bad = "340321198001011230"
    assert bad not in _run(_with("person.id", bad)).stderr
