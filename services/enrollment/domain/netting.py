"""No double refund: what comes back to a person for one enrollment never exceeds what they paid (pure).

Two services give money back for one person, region and year. The subsidy service orders the 先缴后补
refund (`subsidy.refund-ordered`): the person paid the full 400 and the township pays the subsidised
part back (seed 000 L111-115). Enrollment decides the personal refund when the enrollment ends before
the benefit start — death, duplicate payment, employee cover, another region (L211-219). What the person
finally bore is what they paid less what the township gives back. The rules, in the order they apply:

1. A personal refund returns at most what the person still bears: paid − the subsidy service's refunds
   known for the enrollment (an order counts whether the township has paid it yet or not: it is money on
   its way back), never below 0 (`personal_cap`).
2. A subsidy refund that reaches enrollment after a personal refund was approved (the two services decided
   at the same time, each before hearing of the other) keeps only what the person still bore after every
   refund before it; the rest is withheld — the township must not pay it, or recovers it if paid. The
   personal refund stands as decided: the tax office may have paid it out already (`arrived_late`).
3. Money is conserved: paid = kept + returned, returned = personal + subsidy − withheld, kept ≥ 0 (`balance`).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from uuid import UUID

from services.enrollment.domain.enrollment import Key


@dataclass(frozen=True, slots=True)
class SubsidyRefund:
    """A refund the subsidy service ordered (`subsidy.refund-ordered`), as enrollment keeps it: a row of
    `subsidy_refund`. `withheld_fen`: the part that would return more than the person paid (rule 2)."""

    id: UUID
    person_id: str
    region: str
    year: int
    reason: str
    amount_fen: int
    ordered_at: datetime
    funding_source: str | None = None
    township: str | None = None
    withheld_fen: int = 0
    note: str | None = None

    @property
    def key(self) -> Key:
        return (self.person_id, self.region, self.year)

    @property
    def returned_fen(self) -> int:
        return self.amount_fen - self.withheld_fen


@dataclass(frozen=True, slots=True)
class PersonalRefunds:
    """The personal refunds approved for one enrollment: paid when decided, what they return, the last day asked."""

    paid_fen: int
    refunded_fen: int
    requested_on: date


@dataclass(frozen=True, slots=True)
class Balance:
    """One enrollment's money after its refunds, with the sentence the clerk reads."""

    year: int
    paid_fen: int
    subsidy_fen: int      # ordered by the subsidy service (先缴后补), withheld part included
    withheld_fen: int     # of which not to be paid (rule 2)
    personal_fen: int     # approved personal refunds
    returned_fen: int
    kept_fen: int         # what the person finally bore
    text: str


def yuan(fen: int) -> str:
    return f"{fen // 100}元" if fen % 100 == 0 else f"{fen / 100:.2f}元"


def returned(orders: Iterable[SubsidyRefund]) -> int:
    """What the subsidy service's refunds give back, their withheld parts left out."""
    return sum(o.returned_fen for o in orders)


def personal_cap(asked_fen: int, paid_fen: int, subsidy_fen: int) -> int:
    """Rule 1: the personal refund the policy allows (`asked_fen`), no more than what the person still bears."""
    return max(0, min(asked_fen, paid_fen - subsidy_fen))


def netted_text(paid_fen: int, subsidy_fen: int, granted_fen: int) -> str:
    """Rule 1 in words, for the refund's explanation."""
    bore = max(0, paid_fen - subsidy_fen)
    return (f"乡镇已下达先缴后补退补{yuan(subsidy_fen)}（由乡镇退还本人），本人实际负担{yuan(bore)}，"
            f"个人退费只退{yuan(granted_fen)}，两项合计不超过所缴{yuan(paid_fen)}，不重复退费")


def arrived_late(new: Sequence[SubsidyRefund], earlier_fen: int, personal: PersonalRefunds) -> list[SubsidyRefund]:
    """Rule 2 for subsidy refunds of one enrollment that arrive after its personal refund was approved;
    `earlier_fen`: what the subsidy refunds known before them give back. Oldest order first, each keeps
    what the person still bore, the rest is withheld; each says why."""
    room = personal.paid_fen - personal.refunded_fen - earlier_fen
    out = []
    for order in sorted(new, key=lambda o: (o.ordered_at, str(o.id))):
        kept = max(0, min(order.amount_fen, room))
        room -= kept
        out.append(replace(order, withheld_fen=order.amount_fen - kept, note=_late_note(order, kept, personal)))
    return out


def _late_note(order: SubsidyRefund, kept: int, personal: PersonalRefunds) -> str:
    head = (f"本退补单在个人退费（{personal.requested_on}申请，已批准退还{yuan(personal.refunded_fen)}）之后"
            f"才到达参保登记：")
    withheld = order.amount_fen - kept
    if withheld == 0:
        return head + f"本人仍负担{yuan(kept)}，本单照常退补{yuan(order.amount_fen)}"
    stop = "乡镇不得支付，已支付的须追回"
    if kept == 0:
        return head + f"所缴{yuan(personal.paid_fen)}已全部退还，本单{yuan(order.amount_fen)}不予退补，{stop}"
    return head + f"本人仅余负担{yuan(kept)}，本单只退补{yuan(kept)}，其余{yuan(withheld)}不予退补，{stop}"


def balance(year: int, paid_fen: int, personal_fen: int, subsidy_fen: int, withheld_fen: int) -> Balance:
    """Rule 3: paid = kept + returned, for the record (一人一档). `subsidy_fen`: the subsidy service's refunds
    ordered, of which `withheld_fen` not to be paid."""
    subsidy, withheld = subsidy_fen, withheld_fen
    back = personal_fen + subsidy - withheld
    kept = paid_fen - back
    text = (f"{year}年度：所缴{yuan(paid_fen)}；乡镇先缴后补退补{yuan(subsidy - withheld)}"
            + (f"（另有{yuan(withheld)}不予退补，乡镇不得支付）" if withheld else "")
            + f"；个人退费{yuan(personal_fen)}；合计退还{yuan(back)}，本人负担{yuan(kept)}"
            + (f"；退还超过所缴{yuan(-kept)}，请核查" if kept < 0 else ""))
    return Balance(year, paid_fen, subsidy, withheld, personal_fen, back, kept, text)
