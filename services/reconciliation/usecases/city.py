"""The city view (市县汇总) of a city-wide pooling region: each county's progress and 未续保/应保未保 list, as each
county's own pages count them, rolled up to the city (domain/city.py); and the same as one workbook.

The counties are those of the administrative code table in use that year (shared.regions.counties_of: 安康市's
ten), with any other code of the city that holds data (a retired one, such as 610928, still on old records).
Reads only.
"""
from __future__ import annotations

from datetime import date

from services.reconciliation import store
from services.reconciliation.domain import city as model
from services.reconciliation.domain.errors import NotFound
from services.reconciliation.usecases.renewals import not_renewed
from shared.policy import PolicyError, load_pack
from shared.policy.pack import Pack
from shared.regions import counties_of, lookup, name_of
from shared.sheets import Sheet, yuan_of
from shared.uow import UnitOfWork


class NotACity(NotFound):
    """The region is not a city-wide pooling region with counties (no city pack for the year)."""


def city_pack(code: str, year: int) -> Pack:
    """The city's pack; NotACity when `code` has no pack of its own for the year, or one that is not city-wide."""
    try:
        pack = load_pack(code, year)
    except PolicyError as err:
        raise NotACity(f"{name_of(code)}（{code}）没有{year}年度的政策包：{err.message}") from None
    if pack.pooling != "city" or pack.region != code:
        raise NotACity(f"{name_of(code)}（{code}）{year}年度不是市级统筹（政策包按县区统筹），没有市县汇总")
    return pack


async def city_view(uow: UnitOfWork, city: str, year: int, day: date) -> model.CityView:
    """Township → county → city figures of `city` for `year`, the 未续保 lists as of `day`."""
    pack = city_pack(city, year)
    in_use = set(counties_of(city, year))
    codes = sorted(in_use | set(await store.regions_under(uow.conn, city[:4], year)) - {city})
    parts = []
    for code in (city, *codes):
        chase = await not_renewed(uow, code, year, day)
        parts.append(model.Part(code, name_of(code), await store.place_counts(uow.conn, code, year),
                                await store.targets(uow.conn, code, year), chase.listed,
                                None if code in in_use or code == city else _retired(code, year)))
    return model.roll_up(city, name_of(city), year, parts, pack)


def _retired(code: str, year: int) -> str:
    """Why a code the city's data still names is not among its counties of `year`."""
    found = lookup(code)
    last = max((n.valid_to for n in found.names if n.valid_to is not None), default=None) if found else None
    return (f"{year}年已不使用的代码（{last}年后停用），按数据中的原代码列出" if last is not None
            else f"{year}年的区划代码表中不是本市的县区，按数据中的代码列出")


FIGURES = ("底册人数", "已参保", "已缴费", "参保率", "缴费金额（元）", "任务数", "任务完成率", "未续保名单人数",
           "其中上年参保未续保", "其中应保未保")


def _cells(f: model.Figures) -> tuple[object, ...]:
    return (f.baseline_people, f.enrolled_people, f.paid_people, _percent(f.coverage_rate), yuan_of(f.paid_fen),
            f.target_people, _percent(f.target_completion), f.listed, f.not_renewed, f.vulnerable_not_enrolled)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def city_sheets(view: model.CityView) -> list[Sheet]:
    """The city view as the workbook's sheets: city and counties; townships; overrides; the people listed."""
    summary = [("全市", view.code, view.name, *_cells(view.figures))]
    summary += [("县区", c.code, c.name, *_cells(c.figures)) for c in view.counties]
    townships = [(c.code, c.name, t, *_cells(f)) for c in view.counties for t, f in c.townships.items()]
    rules = []
    for c in view.counties:
        if c.code == view.code:
            continue
        rules += [(c.code, c.name, o.what, o.city, o.county, o.cites, o.provisional or "") for o in c.overrides] or [
            (c.code, c.name, model.NO_OVERRIDE, "", "", "", "")]
    people = [(c.code, c.name, p.township, p.village, p.person, p.name or "", p.reasons,
               p.days_left if p.days_left is not None else "—") for c in view.counties for p in c.listed]
    return [Sheet("市县汇总", ("层级", "代码", "名称", *FIGURES), summary),
            Sheet("各县区乡镇", ("县区代码", "县区", "乡镇（街道）", *FIGURES), townships),
            Sheet("县区特别规定", ("县区代码", "县区", "项目", "市级标准", "本县标准", "依据", "说明"), rules),
            Sheet("未续保与应保未保名单", ("县区代码", "县区", "乡镇（街道）", "村（社区）", "身份证号", "姓名", "原因",
                                   "距缴费截止（天）"), people)]

