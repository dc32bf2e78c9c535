"""The pure part of a what-if: subsidy's own decision under an amended pack, and the totals kept per person
(services/subsidy/domain/whatif.py) — by side, funding source and township, and how much more or less people bear."""
from __future__ import annotations

from collections import Counter
from datetime import date

from services.subsidy.domain.cases import Case, decide
from services.subsidy.domain.dues import Due
from services.subsidy.domain.whatif import NO_TOWNSHIP, Band, Tally, distribution
from shared.policy.amend import amend, parse_change
from shared.policy.memo import STORED, Memo
from tests.support.people import resident_id

HY = "340321"
DAY = date(2024, 11, 20)  # inside 怀远's collection period (seed 000 L119-121)


def due(due_fen: int, *lines: tuple[str, int, str, str], refund_after_fen: int = 0) -> Due:
    return Due(40000, sum(x[1] for x in lines), due_fen, refund_after_fen, lines, ())


LIVING = ("minimum_living", 34000, "medical_assistance", "net")
LIVING_360 = ("minimum_living", 36000, "medical_assistance", "net")
VETERAN = ("entitled_veteran", 40000, "finance", "refund_after")
VETERAN_420 = ("entitled_veteran", 42000, "finance", "refund_after")


def test_subsidys_own_decision_takes_the_amended_pack_through_its_memo() -> None:
    changed = Memo.amended(amend(HY, 2025, [parse_change("money.individual_contribution=420"),
                                            parse_change("subsidies.minimum_living.amount=360")]).pack)
    poor = Case(person_id=resident_id(HY), year=2025, region=HY, township="榴城镇",
                statuses=({"category": "minimum_living", "certified_on": date(2024, 3, 1), "ended_on": None},))
    plain = Case(person_id=resident_id(HY, seq=12), year=2025, region=HY, township="榴城镇")
    assert [decide(c, DAY, changed).due.due_fen for c in (poor, plain)] == [6000, 42000]
    assert [decide(c, DAY, STORED).due.due_fen for c in (poor, plain)] == [6000, 40000]
    assert decide(poor, DAY, changed).due.lines == (LIVING_360,)


def test_the_tally_totals_each_side_by_source_and_township_and_counts_who_bears_more_or_less() -> None:
    t = Tally()
    t.add("榴城镇", due(40000), due(42000))                                        # +20
    t.add("榴城镇", due(6000, LIVING), due(6000, LIVING_360))                      # same burden, fund +20
    t.add("龙亢镇", due(40000, VETERAN, refund_after_fen=40000),
          due(42000, VETERAN_420, refund_after_fen=42000))                        # 先缴后补: bears 0 both times
    t.add(None, due(40000), None)                                                 # not judged under the change
    assert (t.people, t.unassessable_before, t.unassessable_after) == (4, 0, 1)
    before, after = t.region.before, t.region.after
    assert (before.people, before.collected_fen, before.refund_after_fen, before.borne_fen, before.subsidy_fen) == (
        4, 126000, 40000, 86000, 74000)
    assert (after.people, after.collected_fen, after.refund_after_fen, after.borne_fen, after.subsidy_fen) == (
        3, 90000, 42000, 48000, 78000)
    assert t.sources == {"medical_assistance": [34000, 36000], "finance": [40000, 42000]}
    assert (t.townships["榴城镇"].before.borne_fen, t.townships["榴城镇"].after.borne_fen) == (46000, 48000)
    assert t.townships[NO_TOWNSHIP].after.people == 0
    assert (t.pay_more, t.pay_less, t.unchanged, t.more_fen, t.less_fen) == (1, 0, 2, 2000, 0)


def test_a_few_distinct_changes_are_each_a_row_many_are_banded_with_no_change_kept_apart() -> None:
    assert distribution(Counter({2000: 5, 0: 7, -1500: 2})) == [Band(-1500, -1500, 2), Band(0, 0, 7), Band(2000, 2000, 5)]
    many = Counter({d * 100: 1 for d in range(-30, 31)})
    bands = distribution(many, bands=6)
    assert len(bands) <= 7 and Band(0, 0, 1) in bands
    assert sum(b.people for b in bands) == sum(many.values())
    assert bands[0].low_fen == -3000 and bands[-1].high_fen == 3000
    assert all(b.low_fen > 0 or b.high_fen < 0 for b in bands if b != Band(0, 0, 1))
