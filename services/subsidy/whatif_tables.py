"""A what-if's answer as the tables people read: on the terminal (`yibao whatif`), on the console page and in
the XLSX file alike (shared.sheets: money in yuan, counts as numbers).

1. 测算条件 — each amount changed, now and in the what-if;
2. 总体 — people, what the tax side collects, what is refunded later, what residents bear, what the funds pay;
3. 按资金来源 — the residents' share and each funding source, before and after;
4. 按乡镇 — per township, residents' burden and subsidies before and after;
5. 个人负担变化分布 — how many people bear how much more or less.
"""
from __future__ import annotations

from decimal import Decimal

from services.subsidy.domain.whatif import Band, Tally, distribution
from services.subsidy.whatif import WhatIf
from shared.codes import LABEL, FundingSource
from shared.regions import name_of
from shared.sheets import Sheet, yuan_of

CHANGE = "变化"


def headline(w: WhatIf) -> str:
    """One line saying what was asked: where, which year, judged on which day, how many people."""
    t = w.tally
    return (f"{name_of(w.region)}（{w.region}）{w.year}年度参保缴费测算：按{w.on}核定，"
            f"共{t.people:,}人；个人负担增加{t.pay_more:,}人、减少{t.pay_less:,}人、不变{t.unchanged:,}人"
            + (f"；无法核定：现行{t.unassessable_before:,}人、测算{t.unassessable_after:,}人"
               if t.unassessable_before or t.unassessable_after else ""))


def sheets(w: WhatIf) -> list[Sheet]:
    return [changes_sheet(w), totals_sheet(w.tally), sources_sheet(w.tally), townships_sheet(w.tally),
            distribution_sheet(w.tally)]


def changes_sheet(w: WhatIf) -> Sheet:
    rows = [(c.setting, c.what, _cell(c.before, c.before_text), _cell(c.after, c.after_text))
            for c in w.amended.changes]
    return Sheet("测算条件", ("设置项", "项目", "现行", "测算"), rows)


def totals_sheet(t: Tally) -> Sheet:
    before, after = t.region.before, t.region.after
    rows: list[tuple[object, ...]] = [("核定人数", before.people, after.people, after.people - before.people)]
    for label, fen in (("税务征收（缴费时，元）", lambda m: m.collected_fen),
                       ("先缴后补退补（元）", lambda m: m.refund_after_fen),
                       ("参保人个人负担（元）", lambda m: m.borne_fen), ("资助合计（元）", lambda m: m.subsidy_fen)):
        rows.append((label, *_three(fen(before), fen(after))))
    return Sheet("总体", ("项目", "现行", "测算", CHANGE), rows)


def sources_sheet(t: Tally) -> Sheet:
    rows = [("参保人个人负担", *_three(t.region.before.borne_fen, t.region.after.borne_fen))]
    for source, (before, after) in sorted(t.sources.items()):
        rows.append((_source_label(source), *_three(before, after)))
    return Sheet("按资金来源", ("资金来源", "现行（元）", "测算（元）", "变化（元）"), rows)


def townships_sheet(t: Tally) -> Sheet:
    rows = []
    for township, pair in sorted(t.townships.items()):
        b, a = pair.before, pair.after
        rows.append((township, max(b.people, a.people), *_three(b.borne_fen, a.borne_fen),
                     *_three(b.subsidy_fen, a.subsidy_fen)))
    return Sheet("按乡镇", ("乡镇（街道）", "人数", "个人负担 现行（元）", "个人负担 测算（元）", "个人负担 变化（元）",
                         "资助 现行（元）", "资助 测算（元）", "资助 变化（元）"), rows)


def distribution_sheet(t: Tally) -> Sheet:
    rows: list[tuple[object, ...]] = [(_band(b), b.people) for b in distribution(t.deltas)]
    rows += [("合计：多缴", t.pay_more, yuan_of(t.more_fen)), ("合计：少缴", t.pay_less, yuan_of(-t.less_fen)),
             ("合计：不变", t.unchanged, yuan_of(0))]
    return Sheet("个人负担变化分布", ("每人个人负担变化", "人数", "合计（元）"), rows)


def _three(before: int, after: int) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    return yuan_of(before), yuan_of(after), yuan_of(after - before)


def _band(b: Band) -> str:
    def say(fen: int) -> str:
        return ("+" if fen > 0 else "") + f"{fen / 100:,.2f}".rstrip("0").rstrip(".") + "元"

    if b.low_fen == b.high_fen:
        return "不变" if b.low_fen == 0 else say(b.low_fen)
    return f"{say(b.low_fen)} 至 {say(b.high_fen)}"


def _cell(fen: int | str | None, text: str) -> object:
    return yuan_of(fen) if isinstance(fen, int) else text


def _source_label(code: str) -> str:
    try:
        return LABEL[FundingSource(code)]
    except ValueError:
        return code

