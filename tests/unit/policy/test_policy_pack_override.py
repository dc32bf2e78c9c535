"""Judging under an amended pack (a what-if) without touching what every service answers.

`assess(s, pack)` takes a pack handed in; `Memo.amended(pack)` remembers its answers apart from the memo of
the stored packs (`memo.STORED`, behind `assess_cached`), whose keys name no pack: the ordinary answers must
be the stored pack's before, during and after a what-if, and no amended answer may ever sit in their memo.
"""
from __future__ import annotations

from typing import Any

import pytest

from shared.policy import PolicyError, assess, assess_cached, load_pack, memo, parse_scenario
from shared.policy.amend import amend, parse_change
from shared.policy.memo import Memo
from tests.unit.policy.builders import scenario_data, status

HY_420 = amend("340321", 2025, [parse_change("money.individual_contribution=420"),
                                parse_change("subsidies.minimum_living.amount=360")]).pack


def general(region: str = "340321", **kw: Any) -> dict[str, Any]:
    return scenario_data(region, **kw)


def test_the_engine_judges_under_a_pack_handed_in_and_else_under_the_stored_one() -> None:
    s = parse_scenario(general())
    assert (assess(s, HY_420).due_fen, assess(s).due_fen) == (42000, 40000)
    poor = parse_scenario(general(statuses=[status("minimum_living")]))
    assert (assess(poor, HY_420).due_fen, assess(poor).due_fen) == (6000, 6000)  # 420 − 360 and 400 − 340


def test_a_pack_of_another_region_or_year_is_refused() -> None:
    with pytest.raises(PolicyError) as refused:
        assess(parse_scenario(general("341522")), HY_420)
    assert refused.value.field == "region"


def test_a_what_if_leaves_the_ordinary_answers_and_their_memo_as_they_were() -> None:
    asked = [general(born=f"19{60 + n}-03-01", statuses=[status("minimum_living")] if n % 2 else []) for n in range(20)]
    ordinary = [assess_cached(d) for d in asked]
    held = dict(memo.STORED.answers)

    what_if = Memo.amended(HY_420)
    assert [what_if.assess(d).standard_fen for d in asked] == [42000] * 20

    assert [assess_cached(d) for d in asked] == ordinary and all(
        again is before for again, before in zip([assess_cached(d) for d in asked], ordinary))
    assert dict(memo.STORED.answers) == held, "a what-if adds nothing to the stored memo and replaces nothing"
    assert all(a.standard_fen == 40000 for a in memo.STORED.answers.values() if a.pack.startswith("340321-2025"))
    assert not set(map(id, what_if.answers.values())) & set(map(id, memo.STORED.answers.values()))


def test_an_amended_city_pack_applies_to_its_counties_with_their_own_overrides() -> None:
    city = amend("610900", 2025, [parse_change("money.individual_contribution=420"),
                                  parse_change("counties.610924.subsidies.minimum_living.amount=260")]).pack
    what_if = Memo.amended(city)
    poor = {"statuses": [status("minimum_living")]}
    assert what_if.assess(general("610924", **poor)).due_fen == 42000 - 26000   # 紫阳县's own figure
    assert what_if.assess(general("610929", **poor)).due_fen == 42000 - 20000   # 白河县 keeps its 200
    assert what_if.assess(general("610900", **poor)).due_fen == 42000 - 20000
    assert what_if.assess(general("340321")).due_fen == 40000                   # another region: as stored
    assert assess_cached(general("610924", **poor)).due_fen == 40000 - 20000
    assert what_if.pack("610924", 2025).applies_to == "610924" and load_pack("610924", 2025).money.individual_contribution == 40000


def test_an_amended_memo_is_bounded_too() -> None:
    small = Memo.amended(HY_420, size=5)
    for n in range(12):
        small.assess(general(payment_date=f"2024-10-{n + 10}"))
    assert len(small.answers) <= 5


def test_a_memo_without_reasons_gives_the_same_money_and_keeps_no_reasons() -> None:
    slim, asked = Memo.amended(HY_420, reasons=False), general(statuses=[status("minimum_living")])
    full = assess(parse_scenario(asked), HY_420)
    kept = slim.assess(asked)
    assert kept == full.model_copy(update={"reasons": (), "provisional": ()}) and full.reasons
    assert slim.assess(asked) is kept and slim.judged == 1
