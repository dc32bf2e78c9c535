"""Which of a person's statuses count for this payment, and the one subsidy line that wins.

A status counts when it was certified in time (the pack's cut-off), had not ended
by the payment, and — if certified after the person paid — only where the region
refunds it (then it is paid first and refunded later, whatever its usual mode).
Several statuses at once: the highest subsidy wins (就高不就低); at equal amounts
the one collected net, so the person pays less at the counter; then the one the
region's document names first (the pack lists its groups in the document's order),
so the line and its funding source never depend on the order the statuses came in.
"""
from __future__ import annotations

from dataclasses import dataclass

from shared.codes import LABEL, Category, FundingSource, Mode
from shared.policy.assessment import SubsidyLine
from shared.policy.pack import Pack, Path, SubsidyRule
from shared.policy.reasons import Reasons
from shared.policy.scenario import Scenario, Status


@dataclass(frozen=True)
class _Candidate:
    status: Status
    amount_fen: int
    mode: Mode
    rule: SubsidyRule  # what prices the status here (funding source, document line)


def counted_statuses(pack: Pack, s: Scenario, why: Reasons) -> list[_Candidate]:
    rules = pack.status_rules
    out: list[_Candidate] = []
    for st in s.statuses:
        label = LABEL[st.category]
        rule = pack.subsidy_rule(st.category)
        amount = pack.subsidy_fen(st.category)
        if rule is None or amount is None:  # no rule, no amount
            why.add("status_no_subsidy", f"{label}：本地参保资助政策中没有该身份的资助", setting="subsidies")
            continue
        if st.ended_on is not None and st.ended_on <= s.payment_date:
            why.add("status_ended", f"{label}：身份已于{st.ended_on}退出，缴费时不再享受资助", setting="status_rules", source=rules.source)
            continue
        cutoff = rules.count_certified_by
        if cutoff is not None and st.certified_on > cutoff:
            why.add("status_next_year", f"{label}：{st.certified_on}认定，晚于{cutoff}，纳入下一年度资助范围", setting="status_rules.count_certified_by", source=rules.source)
            continue
        mode = rule.mode
        if st.certified_on > s.payment_date:
            if rules.after_payment == "ignore":
                why.add("status_after_payment", f"{label}：缴费后（{st.certified_on}）才认定，已缴费用不退、资助不调整", setting="status_rules.after_payment", source=rules.source)
                continue
            assert rules.refund_certified_by is not None, "StatusRules._refund_needs_cutoff: refund has a cut-off"
            if st.certified_on > rules.refund_certified_by:
                why.add("status_next_year", f"{label}：缴费后于{st.certified_on}认定，晚于{rules.refund_certified_by}，纳入下一年度资助范围", setting="status_rules.refund_certified_by", source=rules.source)
                continue
            why.add("status_after_payment_refund", f"{label}：缴费后（{st.certified_on}）认定，资助部分事后退还", setting="status_rules.after_payment", source=rules.source)
            mode = Mode.REFUND_AFTER
        out.append(_Candidate(st, amount, mode, rule))
    return out


def subsidy_lines(pack: Pack, path: Path, s: Scenario, candidates: list[_Candidate], why: Reasons) -> list[SubsidyLine]:
    if path.subsidy == "institution":
        why.add("subsidy_institution", f"{path.title}：参保费用由儿童福利机构全额资助", setting=f"paths.{path.id}.subsidy", source=path.source)
        return [SubsidyLine(category=None, basis="kind", amount_fen=pack.money.individual_contribution,
                            funding_source=FundingSource.WELFARE_INSTITUTION, mode=Mode.NET)]
    if not candidates:
        return []
    if path.subsidy == "none":
        names = "、".join(LABEL[c.status.category] for c in candidates)
        why.add("subsidy_lost", f"{names}：按「{path.title}」缴费，不享受个人缴费资助，按标准全额缴纳", setting=f"paths.{path.id}.subsidy", source=path.source)
        return []
    listed = {category: i for i, category in enumerate(pack.subsidies)}
    best = max(candidates, key=lambda c: (c.amount_fen, c.mode == Mode.NET,
                                          -listed.get(c.status.category, len(listed)), str(c.status.category)))
    for other in candidates:
        if other is not best:
            why.add("subsidy_not_highest", f"{LABEL[other.status.category]}：多重身份就高不就低，未采用", setting="status_rules.multiple", source=pack.status_rules.source)
            if best.amount_fen < pack.money.individual_contribution:  # a provisional figure left out could still win
                _uses_price_of(pack, other.status.category, why)
    cat, rule = best.status.category, best.rule
    line = SubsidyLine(category=cat, basis="status", amount_fen=best.amount_fen, funding_source=rule.funding_source, mode=best.mode)
    why.add("subsidy_applied",
            f"{LABEL[cat]}：资助{best.amount_fen / 100:g}元，由{LABEL[rule.funding_source]}承担，方式：{LABEL[best.mode]}",
            setting=pack.subsidy_setting(cat), source=rule.source)
    _uses_price_of(pack, cat, why)
    return [line]


def _uses_price_of(pack: Pack, category: Category, why: Reasons) -> None:
    """Every setting the amount of `category` is read from: its rule and, through same_as, the one it copies."""
    rule = pack.subsidy_rule(category)
    while rule is not None:
        why.uses(pack.subsidy_setting(category))
        if rule.same_as is None:
            return
        category = rule.same_as
        rule = pack.subsidy_rule(category)
