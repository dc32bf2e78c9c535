"""`assess`: the one decision function, pure — same scenario, same pack, same answer.

Steps, each adding reasons: the pack for the region and year; is the payment
window open at all; is this the right place to enrol; which path the payment
falls on; when cover starts (waiting periods included) and ends; the subsidy
line and so the amount due; the critical-illness cap; a refund if one is asked.
A payment that buys no cover this year is `allowed: false` with nothing due.

The pack is the stored one of the scenario's region and year, unless the caller hands one in
(`pack=`): a what-if judges the same people under an amended pack held in memory only.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from shared.codes import LABEL, Mode
from shared.policy import continuity, paths, subsidies
from shared.policy.assessment import Assessment, RefundDecision
from shared.policy.dates import add_days, add_months
from shared.policy.errors import PolicyError
from shared.policy.loader import load_pack
from shared.policy.pack import Pack, Path
from shared.policy.reasons import Reasons
from shared.policy.scenario import Scenario


def assess(s: Scenario, pack: Pack | None = None) -> Assessment:
    """The decision for `s`; under `pack` when given (it must be the pack of the scenario's region and year)."""
    pack = load_pack(s.region, s.year) if pack is None else _fitted(pack, s)
    _check_scope(pack, s)
    why = Reasons(pack)
    if _refusal(pack, s, why):
        return _refused(pack, s, why, path=None)
    path = paths.choose_path(pack, s, has_status=_holds_status(pack, s))
    if path is None:
        why.add("no_path", pack.no_path.text, setting="no_path", source=pack.no_path.source)
        return _refused(pack, s, why, path=None)
    _explain_path(pack, path, s, why)
    wait = continuity.waiting(pack, path, s, why)
    start = add_days(add_months(paths.base_start(pack, path, s), wait.months), wait.days)
    if start > pack.benefit_period.end:
        why.add("no_benefit_left", f"等待期结束（{start}）已过本年度待遇期末（{pack.benefit_period.end}），本次缴费不能带来本年度待遇",
                setting="waiting", source=pack.waiting.source if pack.waiting else None)
        return _refused(pack, s, why, path=path)
    return _enrolled(pack, path, s, start, wait, why)


def _fitted(pack: Pack, s: Scenario) -> Pack:
    """A pack handed in, for the scenario's place: refused when it is another region's or year's; a city pack
    given for one of its counties applies that county's overrides, as `load_pack` does."""
    if pack.year != s.year or not pack.covers(s.region):
        raise PolicyError(f"政策包{pack.region}-{pack.year}不适用于{s.region} {s.year}年度", field="region")
    county = None if s.region == pack.region else s.region
    return pack if pack.applies_to == county else pack.model_copy(update={"applies_to": county})


def _check_scope(pack: Pack, s: Scenario) -> None:
    if not pack.takes_kind(s.kind):
        allowed = "、".join(LABEL[k] for k in pack.scope_kinds or ())
        raise PolicyError(f"{pack.name}{pack.year}年度政策包只覆盖{allowed}，不覆盖{LABEL[s.kind]}", field="kind")


def _enrolled(pack: Pack, path: Path, s: Scenario, start: date, wait: continuity.Wait, why: Reasons) -> Assessment:
    """The assessment of a payment that buys cover: subsidy line, money, cap, refund."""
    lines = subsidies.subsidy_lines(pack, path, s, subsidies.counted_statuses(pack, s, why), why)
    standard = pack.money.individual_contribution
    surcharge = _surcharge(pack, path, why)
    due = max(0, standard + surcharge - sum(x.amount_fen for x in lines if x.mode == Mode.NET))
    refund_after = sum(x.amount_fen for x in lines if x.mode == Mode.REFUND_AFTER)
    why.add("due", _due_text(standard, surcharge, due, refund_after), setting="money.individual_contribution", source=pack.money.source)
    why.add("benefit_period", f"待遇享受期：{start} 至 {pack.benefit_period.end}", setting=f"paths.{path.id}.benefit_start", source=path.source)
    return Assessment(
        **_identity(pack, s), path=path.id, allowed=True,
        standard_fen=standard, surcharge_fen=surcharge, subsidy_total_fen=sum(x.amount_fen for x in lines),
        due_fen=due, refund_after_fen=refund_after, subsidies=tuple(lines),
        benefit_start=start, benefit_end=pack.benefit_period.end, waiting_months=wait.months, waiting_days=wait.days,
        critical_illness_cap_adjustment_fen=continuity.cap_adjustment_fen(pack, s, why),
        refund=_refund(pack, s, start, due, why), reasons=why.final(), provisional=why.provisional(),
    )


def _holds_status(pack: Pack, s: Scenario) -> bool:
    """Holds, on the payment date, a status this region subsidises — whether or not it counts this year."""
    return any(
        pack.subsidy_rule(st.category) is not None and st.certified_on <= s.payment_date
        and (st.ended_on is None or st.ended_on > s.payment_date)
        for st in s.statuses
    )


def _identity(pack: Pack, s: Scenario) -> dict[str, Any]:
    return {"region": s.region, "pooling_region": pack.region, "year": s.year, "pack": pack.key, "kind": s.kind}


def _refused(pack: Pack, s: Scenario, why: Reasons, path: Path | None) -> Assessment:
    return Assessment(
        **_identity(pack, s), path=path.id if path else None, allowed=False,
        standard_fen=pack.money.individual_contribution, surcharge_fen=0, subsidy_total_fen=0, due_fen=0,
        refund_after_fen=0, subsidies=(), benefit_start=None, benefit_end=None, waiting_months=0, waiting_days=0,
        critical_illness_cap_adjustment_fen=0, refund=None, reasons=why.final(), provisional=why.provisional(),
    )


def _refusal(pack: Pack, s: Scenario, why: Reasons) -> bool:
    """Reasons that stop before any path: the window not yet open, or the wrong place."""
    period = pack.collection_period
    if s.payment_date < period.start:
        why.add("not_open", f"{pack.year}年度缴费期自{period.start}开始，{s.payment_date}尚未开始缴费", setting="collection_period", source=period.source)
        return True
    place = pack.place
    homes = [c for c in (s.person.hukou_region, s.person.residence_region) if c]
    if s.kind in place.exempt_kinds or not homes:
        if not homes:
            why.add("place_unchecked", "未提供户籍地和居住地，未核验参保地", setting="place", source=place.source)
        return False
    if not any(pack.covers(c) for c in homes):
        why.add("place_mismatch", f"参保地须与户籍地或居住证所在地至少一项相同，{pack.name}都不是", setting="place.rule", source=place.source)
        return True
    return False


def _explain_path(pack: Pack, path: Path, s: Scenario, why: Reasons) -> None:
    if path.kinds == "all" and s.kind.value != "general":
        if paths.has_own_path(pack, s.kind):
            text = f"不满足{LABEL[s.kind]}的特殊参保条件，按一般规定：{path.title}"
            why.add("kind_fallback", text, setting=f"paths.{path.id}", source=path.source)
        else:
            why.add("kind_not_listed", f"本地文件未单列{LABEL[s.kind]}，按一般规定：{path.title}", setting=f"paths.{path.id}", source=path.source)
    else:
        why.add("path", f"适用：{path.title}", setting=f"paths.{path.id}", source=path.source)
    if pack.reminder_date and path.window.type == "collection" and s.payment_date > pack.reminder_date:
        why.add("after_reminder_date", f"原则上应于{pack.reminder_date}前缴费，仍在集中征缴期内，正常参保", setting="reminder_date", source=pack.collection_period.source)


def _surcharge(pack: Pack, path: Path, why: Reasons) -> int:
    if path.rate != "standard_plus_surcharge":
        return 0
    if pack.money.late_surcharge is None:
        raise PolicyError("path asks for a surcharge the pack does not set", field=f"paths.{path.id}.rate")
    why.add("surcharge", f"集中参保缴费期外缴费，按个人缴费标准加财政补助标准{pack.money.late_surcharge / 100:g}元缴费", setting="money.late_surcharge", source=path.source)
    return pack.money.late_surcharge


def _due_text(standard: int, surcharge: int, due: int, refund_after: int) -> str:
    text = f"个人缴费标准{standard / 100:g}元" + (f"，加收{surcharge / 100:g}元" if surcharge else "") + f"，本次应缴{due / 100:g}元"
    return text + (f"，其中{refund_after / 100:g}元事后由乡镇（街道）退补" if refund_after else "")


def _refund(pack: Pack, s: Scenario, benefit_start: date, due: int, why: Reasons) -> RefundDecision | None:
    if s.refund_reason is None:
        return None
    asked = s.refund_requested_on or s.event_date
    if asked is None:
        raise PolicyError("退费需要申请日期（refund_requested_on 或 event_date）", field="refund_requested_on")
    rules, label = pack.refunds, LABEL[s.refund_reason]
    if s.refund_reason not in rules.before_start_reasons:
        why.add("refund_reason_not_listed", f"退费理由「{label}」不在本地可退费情形之列", setting="refunds.before_start_reasons", source=rules.source)
        return RefundDecision(reason=s.refund_reason, eligible=False, amount_fen=0)
    if asked >= benefit_start:
        why.add("refund_after_start", f"{asked}申请时待遇享受期已于{benefit_start}开始，个人缴费不再退回", setting="refunds", source=rules.source)
        return RefundDecision(reason=s.refund_reason, eligible=False, amount_fen=0)
    why.add("refund_before_start", f"因{label}在待遇享受期开始（{benefit_start}）前申请，可终止参保关系并退还个人缴费{due / 100:g}元；尚未退补的先缴后补资助不再发放",
            setting="refunds.before_start_reasons", source=rules.source)
    return RefundDecision(reason=s.refund_reason, eligible=True, amount_fen=due)
