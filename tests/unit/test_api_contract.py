"""shared/api_contract.py and the 405 of shared/http.py: what schemathesis found the APIs did not keep to."""
from __future__ import annotations

from datetime import date

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from faststream.kafka import KafkaBroker
from pydantic import BaseModel, ValidationError

from shared.api_contract import IsoDate, PlainText, Year, problems, visible
from shared.http import build_http_app
from shared.runtime import Runtime
from shared.settings import ServiceSettings


class Request(BaseModel):
    note: PlainText | None = None
    day: IsoDate | None = None
    year: Year = 2025


@pytest.mark.parametrize("note", ["低\x00保", "a\x1fb", "del\x7f", "lone \ud800 surrogate"])
def test_control_characters_and_lone_surrogates_are_refused_with_where_they_are(note: str) -> None:
    with pytest.raises(ValidationError, match="控制字符或无效字符"):
        Request(note=note)


def test_ordinary_text_with_tabs_and_newlines_passes_and_the_pattern_is_declared() -> None:
    assert Request(note="已核实\t退费\n第二行 ✓").note == "已核实\t退费\n第二行 ✓"
    declared = Request.model_json_schema()["properties"]["note"]["anyOf"][0]
    assert declared["pattern"].startswith("^[^\\x00")


@pytest.mark.parametrize("day", [0, "0", 20241105, "2024/11/05", True])
def test_a_date_is_iso_text_not_a_number(day: object) -> None:
    with pytest.raises(ValidationError, match="YYYY-MM-DD"):
        Request(day=day)


def test_iso_dates_and_date_objects_pass() -> None:
    assert Request(day="2024-11-05").day == date(2024, 11, 5)
    assert Request(day=date(2024, 11, 5)).day == date(2024, 11, 5)


@pytest.mark.parametrize("year", [True, "2025", 2025.5])
def test_a_year_is_a_whole_number(year: object) -> None:
    with pytest.raises(ValidationError, match="年度须为整数"):
        Request(year=year)


def test_a_year_is_bounded_and_an_integral_float_is_the_same_year() -> None:
    assert Request(year=2025.0).year == 2025
    with pytest.raises(ValidationError):
        Request(year=99_999_999_999)  # would overflow the database's integer


def test_visible_makes_kept_text_storable() -> None:
    assert visible("名单\x00.xlsx") == "名单\ufffd.xlsx"
    assert visible("正常.xlsx") == "正常.xlsx"


def test_problems_declares_each_code_with_the_one_error_body() -> None:
    declared = problems(401, 404)
    assert set(declared) == {401, 404} and all("description" in d for d in declared.values())


def test_405_names_every_method_of_the_path_not_only_the_first_routes() -> None:
    router = APIRouter()

    @router.get("/runs")
    async def list_runs() -> dict:
        return {}

    @router.post("/runs")
    async def start_run() -> dict:
        return {}

    runtime = Runtime("test", "test", ServiceSettings())
    app = build_http_app(runtime, KafkaBroker("127.0.0.1:9"), title="t", api=router)
    client = TestClient(app)  # no lifespan: nothing connects, only routing runs
    for method in ("PUT", "DELETE", "OPTIONS"):
        answer = client.request(method, "/api/runs")
        assert answer.status_code == 405 and answer.headers["allow"] == "GET, POST"
    assert client.get("/api/runs").status_code == 200
