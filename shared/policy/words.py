"""A pack's settings and values in the words a village worker reads: 个人缴费标准 400元, not money.individual_contribution.

`setting_words(pack, setting)` names a dotted setting (`subsidies.minimum_living.amount` → 低保对象资助金额,
`paths.newborn_90_days.window.days` → 「新生儿出生90日内参保缴费」缴费期限天数); `value_words(setting, value)`
says a value (fen as 元, dates ISO, codes by their Chinese labels, counts with their unit).
"""
from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from shared.codes import LABEL, Category
from shared.policy.leaves import SameAs
from shared.policy.pack import Pack

SECTIONS = {
    "pooling": "统筹层次", "scope_kinds": "本包覆盖的参保人员", "money": "缴费标准", "collection_period": "集中缴费期",
    "benefit_period": "待遇享受期", "reminder_date": "原则上缴费截止的提醒日", "status_rules": "身份认定规则",
    "subsidies": "参保资助", "paths": "参保缴费路径", "no_path": "无路径可走时的答复", "waiting": "待遇等待期",
    "critical_illness": "大病保险待遇激励", "place": "参保地", "refunds": "退费", "counties": "县（区）特别规定",
}
_FIELDS = {
    "money.individual_contribution": "个人缴费标准", "money.fiscal_subsidy": "财政补助标准",
    "money.late_surcharge": "集中期外加收金额",
    "collection_period.start": "集中缴费期开始", "collection_period.end": "集中缴费期结束",
    "benefit_period.start": "待遇享受期开始", "benefit_period.end": "待遇享受期结束",
    "status_rules.count_certified_by": "计入本年度资助的身份认定截止日",
    "status_rules.after_payment": "缴费后才认定的身份", "status_rules.refund_certified_by": "缴费后认定仍予退补的截止日",
    "status_rules.multiple": "多重身份",
    "no_path.text": "无路径可走时的答复",
    "waiting.fixed_months": "固定等待期", "waiting.fixed_as_days": "固定等待期按天计",
    "waiting.variable_months_per_gap_year": "每多断保1年增加的变动等待期",
    "waiting.gap_years_without_variable": "只设固定等待期的断保年数", "waiting.long_gap_years": "长期断保的年数",
    "waiting.long_gap_min_total_months": "长期断保修复后的最短等待期", "waiting.first_enrollment_is_gap": "首次参保算作断保",
    "waiting.payback": "补缴断保年度修复等待期", "waiting.payback.amount": "补缴1年断保的金额",
    "critical_illness.reenroll_cut": "断保再参保降低大病封顶线", "critical_illness.continuity_free_years": "连续参保满几年后开始提高",
    "critical_illness.continuity_step": "连续参保每年提高大病封顶线", "critical_illness.zero_reimbursement_step": "零报销次年提高大病封顶线",
    "critical_illness.increase_cap_percent": "提高累计不超过省封顶线的比例", "critical_illness.provincial_cap": "省大病保险封顶线",
    "critical_illness.continuity_counted_from": "连续参保年数起算年度",
    "place.rule": "参保地规则", "place.exempt_kinds": "不受户籍/居住地限制的人员",
    "refunds.before_start_reasons": "待遇期开始前可退费的情形",
}
_SUBSIDY_FIELDS = {"amount": "资助金额", "funding_source": "资助资金来源", "mode": "资助方式"}
_PATH_FIELDS = {
    "kinds": "适用人员", "window.type": "缴费期限", "window.start": "缴费期限开始", "window.end": "缴费期限结束",
    "window.event": "缴费期限起算事件", "window.days": "缴费期限天数", "window.months": "缴费期限月数",
    "window.years": "缴费年龄上限", "requires.birth_in_year": "条件：本年度出生",
    "requires.born_within_days_before_year": "条件：上年末几天内出生", "requires.has_subsidy_status": "条件：持有资助身份",
    "requires.event_on_or_after": "条件：事件不早于", "requires.event_before_year": "条件：事件在本年度之前",
    "requires.continuous_years": "条件：此前连续参保年数", "rate": "缴费标准", "subsidy": "资助", "benefit_start": "待遇起始",
    "benefit_start_date": "待遇起始日", "may_start_before_year": "待遇可早于年度开始", "waiting": "等待期",
}
_LITERALS = {
    "county": "县级统筹", "city": "市级统筹", "ignore": "不予调整（已缴不退、资助不变）", "refund": "资助部分事后退补",
    "highest": "就高不就低（取资助最高的一项）", "collection": "集中缴费期内", "dates": "规定日期内",
    "after_event": "事件后规定期限内", "before_age": "未满规定年龄", "in_year": "本年度内任何时候", "birth": "出生",
    "event": "事件（断保、退役、刑满、入学等）", "standard": "个人缴费标准", "standard_plus_surcharge": "个人缴费标准加收财政补助",
    "apply": "享受资助", "none": "不享受资助", "institution": "由儿童福利机构资助", "period_start": "待遇享受期开始之日",
    "payment": "缴费之日", "day_after_payment": "缴费次日", "month_after_payment": "缴费次月1日",
    "month_of_payment": "缴费当月1日", "fixed": "规定日期", "hukou_or_residence": "户籍地或居住证所在地",
    "individual_contribution": "按当年个人缴费标准", "full": "全额资助（个人缴费标准）", "all": "所有人员",
}
_WAITING_LITERALS = {"none": "不设等待期", "continuity": "断保才设等待期", "fixed": "设固定等待期（断保另加变动等待期）"}
_UNITS = {"days": "天", "fixed_as_days": "天", "months": "个月", "fixed_months": "个月", "long_gap_min_total_months": "个月",
          "variable_months_per_gap_year": "个月", "years": "周岁", "gap_years_without_variable": "年", "long_gap_years": "年",
          "continuity_free_years": "年", "continuous_years": "年", "born_within_days_before_year": "天",
          "increase_cap_percent": "%", "continuity_counted_from": "年度"}


def yuan(fen: int) -> str:
    """40000 → 400元, 6050 → 60.5元."""
    return f"{fen / 100:,.2f}".rstrip("0").rstrip(".") + "元"


def setting_words(pack: Pack | None, setting: str) -> str:
    """The setting in words; a path is named by its title in `pack` (its id when the pack has no such path)."""
    parts = setting.split(".")
    head = parts[0]
    if head == "subsidies" and len(parts) >= 2:
        return _category(parts[1]) + ("" if len(parts) < 3 else _SUBSIDY_FIELDS.get(parts[2], parts[2]))
    if head == "counties" and len(parts) >= 2:
        county = pack.counties.get(parts[1]) if pack else None
        return (county.name if county else parts[1]) + (setting_words(pack, ".".join(parts[2:])) if len(parts) > 2 else "")
    if head == "paths" and len(parts) >= 2:
        title = next((p.title for p in pack.paths if p.id == parts[1]), parts[1]) if pack else parts[1]
        rest = ".".join(parts[2:])
        return f"「{title}」" + (_PATH_FIELDS.get(rest, rest) if rest else "")
    return _FIELDS.get(setting) or SECTIONS.get(setting) or setting


def value_words(setting: str, value: Any, *, amount: bool = False) -> str:
    """A value as the table shows it; None is 未规定."""
    last = setting.rsplit(".", 1)[-1]
    if value is None:
        return "所有参保人员" if setting == "scope_kinds" else "未规定"
    if isinstance(value, SameAs):
        return f"同{_category(value.category)}"
    if isinstance(value, bool):
        return "是" if value else "否"
    if amount and isinstance(value, int):
        return yuan(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return LABEL.get(value, str(value))
    if isinstance(value, int):
        return f"{value}{_UNITS.get(last, '')}"
    if isinstance(value, (list, tuple)):
        return "、".join(value_words(setting, v) for v in value) if value else "无"
    if last == "waiting" and setting.startswith("paths."):
        return _WAITING_LITERALS.get(str(value), str(value))
    return _LITERALS.get(str(value), str(value))


def _category(code: str) -> str:
    try:
        return LABEL[Category(code)]
    except ValueError:
        return code
