"""What continuity of cover changes: waiting periods, and the critical-illness cap.

A gap is the run of years just before the coverage year without cover. Someone
never covered before is a first enrollment, not a gap, unless the pack says so.
Waiting: the fixed period when paying outside the collection period or after a
gap; for a gap, variable months per further gap year, each year paid back
repairing one, never below the long-gap floor. Cap: minus after a gap, plus for
each continuous year past the free ones and for each zero-reimbursement year of
the current run, the increase capped at a share of the provincial cap when known.
"""
from __future__ import annotations

from dataclasses import dataclass

from shared.policy.pack import Pack, Path
from shared.policy.reasons import Reasons
from shared.policy.scenario import Scenario


def gap_years(s: Scenario) -> list[int] | None:
    """The uncovered years just before the coverage year; None when never covered before."""
    if not s.enrolled_years:
        return None
    last = max(s.enrolled_years)
    return list(range(last + 1, s.year))


def continuous_run(s: Scenario, counted_from: int | None) -> list[int]:
    """The covered years ending with the year before the coverage year."""
    run, y = [], s.year - 1
    while y in s.enrolled_years and (counted_from is None or y >= counted_from):
        run.append(y)
        y -= 1
    return run


@dataclass(frozen=True)
class Wait:
    months: int = 0
    days: int = 0


def waiting(pack: Pack, path: Path, s: Scenario, why: Reasons) -> Wait:
    rules = pack.waiting
    if path.waiting == "none" or rules is None:
        return Wait()
    gap = gap_years(s)
    broke = bool(gap) or (gap is None and rules.first_enrollment_is_gap)
    if path.waiting == "continuity" and not broke:
        return Wait()
    fixed = Wait(days=rules.fixed_as_days) if rules.fixed_as_days else Wait(months=rules.fixed_months)
    cause = "未连续参保" if path.waiting == "continuity" else f"按「{path.title}」参保"
    fixed_text = f"{rules.fixed_as_days}天" if rules.fixed_as_days else f"{rules.fixed_months}个月"
    why.add("waiting_fixed", f"{cause}，设置固定待遇等待期{fixed_text}", setting="waiting.fixed_months", source=rules.source)
    if not gap:
        return fixed
    variable = max(0, len(gap) - rules.gap_years_without_variable) * rules.variable_months_per_gap_year
    repaired = min(variable, len([y for y in gap if y in s.paid_back_years]) * rules.variable_months_per_gap_year)
    variable -= repaired
    why.add("waiting_variable",
            f"断保{len(gap)}年（{gap[0]}—{gap[-1]}），变动待遇等待期{variable + repaired}个月，补缴修复{repaired}个月，余{variable}个月",
            setting="waiting.variable_months_per_gap_year", source=rules.source)
    if len(gap) >= rules.long_gap_years and rules.fixed_months + variable < rules.long_gap_min_total_months:
        variable = rules.long_gap_min_total_months - rules.fixed_months
        why.add("waiting_long_gap_floor",
                f"连续断缴{len(gap)}年，修复后等待期合计不少于{rules.long_gap_min_total_months}个月",
                setting="waiting.long_gap_min_total_months", source=rules.source)
    return Wait(months=fixed.months + variable, days=fixed.days)


def cap_adjustment_fen(pack: Pack, s: Scenario, why: Reasons) -> int:
    rules = pack.critical_illness
    if rules is None:
        return 0
    gap = gap_years(s)
    if gap is None:
        why.add("cap_first_enrollment", "首次参保：大病保险最高支付限额不调整", setting="critical_illness", source=rules.source)
        return 0
    if gap:
        why.add("cap_reenrolled", f"断保后再参保：大病保险最高支付限额降低{rules.reenroll_cut / 100:g}元，连续参保年数重新计算",
                setting="critical_illness.reenroll_cut", source=rules.source)
        return -rules.reenroll_cut
    run = continuous_run(s, rules.continuity_counted_from)
    continuous = len(run) + 1  # this year too
    extra_years = max(0, continuous - rules.continuity_free_years)
    zero_years = sorted(y for y in run if y in s.zero_reimbursement_years)
    increase = extra_years * rules.continuity_step + len(zero_years) * rules.zero_reimbursement_step
    why.add("cap_continuity",
            f"连续参保{continuous}年（含本年），连续参保激励{extra_years * rules.continuity_step / 100:g}元；"
            f"零报销年度{zero_years or '无'}，零报销激励{len(zero_years) * rules.zero_reimbursement_step / 100:g}元",
            setting="critical_illness", source=rules.source)
    if rules.provincial_cap is None:
        if increase:
            why.add("cap_limit_unknown", f"累计提高不超过省大病保险封顶线的{rules.increase_cap_percent}%，但封顶线未给出，未作上限校验",
                    setting="critical_illness.provincial_cap", source=rules.source)
        return increase
    limit = rules.provincial_cap * rules.increase_cap_percent // 100
    if increase > limit:
        why.add("cap_limited", f"累计提高额度以省封顶线的{rules.increase_cap_percent}%（{limit / 100:g}元）为限",
                setting="critical_illness.increase_cap_percent", source=rules.source)
    return min(increase, limit)
