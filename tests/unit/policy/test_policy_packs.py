"""Packs: every shipped pack loads, bad packs are refused naming file and field, defaults are documented."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
import yaml

from shared import regions
from shared.codes import CERTIFIED_BY, Category, Department, categories_of
from shared.policy import PolicyError, available, load_pack, pooling_region_of, standard_fen
from shared.policy.loader import parse_pack

README = Path(__file__).parents[3] / "shared" / "policy" / "README.md"
SHIPPED = [("340321", 2024), ("340321", 2025), ("341522", 2025), ("430502", 2025), ("610900", 2025)]


def _raw(region: str = "340321", year: int = 2025) -> dict:
    text = resources.files("shared.policy.packs").joinpath(f"{region}-{year}.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _parse(raw: dict) -> None:
    parse_pack(yaml.safe_dump(raw, allow_unicode=True), file="bad.yaml")


def test_the_seed_regions_have_packs() -> None:
    assert available() == SHIPPED


@pytest.mark.parametrize(("region", "year"), SHIPPED)
def test_every_default_is_listed_in_the_readme(region: str, year: int) -> None:
    section = README.read_text(encoding="utf-8").split(f"### {region}-{year}")[1].split("\n### ")[0]
    for note in load_pack(region, year).defaults:
        row = f"| `{note.setting}` | {note.why} | {note.awaiting or ''} |"
        assert row in section, f"{region}-{year} {note.setting} not in README (or its awaiting column differs)"


def test_standard_rates() -> None:
    assert standard_fen("340321", 2025) == 40000
    assert standard_fen("340321", 2024) == 38000  # 000 L141-147
    assert standard_fen("610929", 2025) == 40000


def test_a_county_in_a_city_uses_the_city_pack_with_its_overrides() -> None:
    assert pooling_region_of("610924", 2025) == "610900"
    assert pooling_region_of("610921", 2025) == "610900"  # no override: the city pack as is
    pack = load_pack("610929", 2025)
    assert (pack.region, pack.applies_to) == ("610900", "610929")
    assert pack.subsidy_setting(Category.MINIMUM_LIVING) == "counties.610929.subsidies.minimum_living"
    assert load_pack("610900", 2025).subsidy_setting(Category.MINIMUM_LIVING) == "subsidies.minimum_living"


@pytest.mark.parametrize(("region", "year", "field"), [("340321", 2031, "year"), ("110101", 2025, "region")])
def test_unknown_region_or_year_names_the_field(region: str, year: int, field: str) -> None:
    with pytest.raises(PolicyError) as e:
        load_pack(region, year)
    assert e.value.field == field


def test_unknown_key_is_refused_with_file_and_field() -> None:
    raw = _raw()
    raw["subsidies"]["minimum_living"]["amout"] = 340
    with pytest.raises(PolicyError) as e:
        _parse(raw)
    assert e.value.file == "bad.yaml"
    assert e.value.field == "subsidies.minimum_living.amout"
    assert str(e.value).startswith("bad.yaml: subsidies.minimum_living.amout: ")


@pytest.mark.parametrize(("change", "field"), [
    (lambda r: r["money"].update(individual_contribution=-1), "money.individual_contribution"),
    (lambda r: r["money"].update(individual_contribution=400.001), "money.individual_contribution"),
    (lambda r: r["collection_period"].update(end="2024-08-01"), "collection_period"),
    (lambda r: r["subsidies"].update(rich_uncle={"amount": 1, "funding_source": "finance", "mode": "net", "source": "x"}), "subsidies.rich_uncle"),
    (lambda r: r["paths"][0].update(kinds=["tourist"]), "paths.0.kinds"),
    (lambda r: r["defaults"].append({"setting": "no.such.setting", "why": "x"}), "defaults.11.setting"),
    (lambda r: r.update(year=2026), None),  # benefit period no longer inside the year
])
def test_bad_values_are_refused_naming_the_field(change, field) -> None:
    raw = _raw()
    change(raw)
    with pytest.raises(PolicyError) as e:
        _parse(raw)
    if field:
        assert e.value.field is not None and e.value.field.startswith(field), e.value


def test_a_same_as_must_name_a_priced_status() -> None:
    raw = _raw()
    raw["subsidies"]["unsupported_child"]["same_as"] = "severe_disability"
    with pytest.raises(PolicyError, match="same_as"):
        _parse(raw)


def test_file_must_match_its_name() -> None:
    with pytest.raises(PolicyError) as e:
        parse_pack(yaml.safe_dump(_raw(), allow_unicode=True), file="341522-2025.yaml", region="341522", year=2025)
    assert e.value.field == "region"


def test_each_category_has_exactly_one_certifying_department() -> None:
    assert set(CERTIFIED_BY) == set(Category)
    assert categories_of(Department.VETERANS) == {Category.ENTITLED_VETERAN}
    assert categories_of(Department.EDUCATION) == frozenset()


def test_region_table_keeps_old_codes() -> None:
    assert regions.name_of("430502") == "双清区"
    assert regions.lookup("110103").names[-1].valid_to == 2010  # 崇文区, merged in 2010: still a real place
    assert not regions.is_known("999999")
