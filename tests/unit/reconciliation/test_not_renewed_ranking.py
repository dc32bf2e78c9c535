"""The 未续保 list (services/reconciliation/domain/renewals.py): whom a village worker visits first, and by when.

Deadlines come from the regions' own policy packs: 怀远县 (seed 000 L119-127: collection to 31 December,
外出务工 to 28 February; L133-141 newborns), 安康市 (seed 004: collection to 20 December, a subsidised
person paying later loses the subsidy), 双清区 (seed 003: paying later costs 1,070 and a waiting period).
"""
from __future__ import annotations

import io
from datetime import date

from openpyxl import load_workbook

from services.reconciliation.domain.discrepancies import StatusSpan
from services.reconciliation.domain.renewals import Candidate, by_village, deadline, rank, village_counts
from services.reconciliation.domain.village_book import sheet_names, workbook
from shared.policy import load_pack
from tests.support.people import resident_id

HY, AK, SQ, YEAR = "340321", "610900", "430502", 2025
WINDOW = (date(2024, 9, 1), date(2024, 12, 31))
LOW_INCOME = (StatusSpan("minimum_living", date(2024, 9, 5), None),)


def person(seq: int, *, village: str = "城关村", last_year: bool = True, statuses: tuple[StatusSpan, ...] = (),
           kind: str | None = None, born: date = date(1980, 1, 1), name: str | None = None) -> Candidate:
    return Candidate(resident_id(HY, born=born, seq=seq), name or f"居民{seq}", "榴城镇", village, last_year,
                     "普通居民" if last_year else None, date(2023, 10, 8) if last_year else None, statuses,
                     None, kind)


def test_deadlines_come_from_each_regions_pack():
    hy, ak, sq = load_pack(HY, YEAR), load_pack(AK, YEAR), load_pack(SQ, YEAR)
    nov = date(2024, 11, 15)
    assert deadline(hy, None, date(1980, 1, 1), False, nov).last_day == date(2024, 12, 31)
    assert deadline(hy, "migrant_worker", date(1980, 1, 1), False, nov).last_day == date(2025, 2, 28)
    assert deadline(ak, "general", date(1980, 1, 1), False, nov).last_day == date(2024, 12, 20)
    # A subsidised person in 安康 may pay until the year ends, but without the subsidy: 20 December counts.
    assert deadline(ak, "general", date(1980, 1, 1), True, nov).last_day == date(2024, 12, 20)
    # 双清区 after 31 December: 1,070 and a waiting period, not the normal terms.
    assert deadline(sq, "general", date(1980, 1, 1), False, nov).last_day == date(2024, 12, 31)
    # A 怀远 newborn: the 90 days from birth first; once they have passed, the under-one path.
    born = date(2024, 11, 1)
    assert deadline(hy, "newborn", born, False, nov).last_day == date(2025, 1, 30)
    assert deadline(hy, "newborn", born, False, date(2025, 2, 1)).last_day == date(2025, 10, 31)


def test_after_every_window_the_latest_last_day_is_kept_and_the_days_are_negative():
    hy = load_pack(HY, YEAR)
    found = deadline(hy, None, date(1980, 1, 1), False, date(2025, 1, 10))
    assert found is not None and found.last_day == date(2024, 12, 31)
    (listed,) = rank([person(1)], hy, WINDOW, date(2025, 1, 10))
    assert listed.days_left == -10


def test_vulnerable_first_then_fewest_days_left_then_passed_ones_last():
    hy = load_pack(HY, YEAR)
    day = date(2024, 11, 15)
    people = [
        person(1, name="甲"),                                   # general: 46 days left
        person(2, name="乙", kind="migrant_worker"),            # 105 days left
        person(3, name="丙", last_year=False, statuses=LOW_INCOME),  # vulnerable, never enrolled
        person(4, name="丁", statuses=LOW_INCOME, kind="migrant_worker"),
        person(5, name="戊", kind="newborn", born=date(2024, 8, 1)),  # 90 days passed on 30 October: under one
        person(6, name="己", last_year=False),                  # neither: not on the list
    ]
    listed = rank(people, hy, WINDOW, day)
    assert [p.name for p in listed] == ["丙", "丁", "甲", "乙", "戊"]
    assert [p.days_left for p in listed] == [46, 105, 46, 105, (date(2025, 7, 31) - day).days]
    assert listed[0].reasons == "低保对象（应保未保）" and listed[1].reasons.startswith("上年参保、本年未续保；")
    assert all(p.person.startswith("340321") and "*" in p.person for p in listed), "IDs masked"


def test_a_status_outside_this_years_period_does_not_make_anyone_vulnerable():
    ended = (StatusSpan("minimum_living", date(2023, 1, 1), date(2024, 6, 30)),)
    listed = rank([person(1, last_year=False, statuses=ended), person(2, statuses=ended)], load_pack(HY, YEAR),
                  WINDOW, date(2024, 11, 15))
    assert [(p.name, p.vulnerable) for p in listed] == [("居民2", False)]


def test_without_a_pack_the_list_stands_without_days():
    listed = rank([person(1), person(2, statuses=LOW_INCOME)], None, WINDOW, date(2024, 11, 15))
    assert [(p.name, p.days_left, p.deadline) for p in listed] == [("居民2", None, None), ("居民1", None, None)]


def test_one_sheet_per_village_in_rank_order_ids_masked_formulas_neutralised():
    hy = load_pack(HY, YEAR)
    people = [person(1, village="城关村"), person(2, village="城关村", statuses=LOW_INCOME),
              person(3, village="=cmd|' /C calc'!A0村"), person(4, village="涂山村")]
    groups = by_village(rank(people, hy, WINDOW, date(2024, 11, 15)))
    book = load_workbook(io.BytesIO(workbook(groups)))
    assert book.sheetnames == ["=cmd|' _C calc'!A0村", "城关村", "涂山村"]
    ws = book["城关村"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:5] == ("排序", "乡镇", "村（社区）", "身份证号（脱敏）", "姓名")
    assert [r[4] for r in rows[1:]] == ["居民2", "居民1"] and [r[0] for r in rows[1:]] == [1, 2]
    assert all("*" in r[3] for r in rows[1:]) and rows[1][12] == 46
    assert book["=cmd|' _C calc'!A0村"]["C2"].value == "'=cmd|' /C calc'!A0村"
    assert [c["people"] for c in village_counts(groups)] == [1, 2, 1]


def test_sheet_names_are_distinct_valid_and_short():
    names = sheet_names([("甲镇", "新村"), ("乙镇", "新村"), ("丙镇", "a/b*c?" * 8), ("丁镇", "A" * 40), ("戊镇", "a" * 40)])
    assert names[:2] == ["甲镇-新村", "乙镇-新村"]
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in names)
    assert len({n.lower() for n in names}) == len(names)
    assert load_workbook(io.BytesIO(workbook({}))).sheetnames == ["无未续保人员"]
