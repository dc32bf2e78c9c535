"""Cell values as departments type them: full-width characters, dates in five spellings, Chinese category names,
the 监测类型 (kind of monitored household) of a 防止返贫监测对象 list.

Pure functions: a cell goes in (text, number or date), a canonical value or a
reason a clerk can act on comes out.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from functools import lru_cache

from shared.codes import LABEL, Category, MonitoringSubtype

# Excel counts days from 1899-12-30 (its 1900 leap-year bug makes that the right origin after Feb 1900).
_EXCEL_EPOCH = date(1899, 12, 30)
# Serial numbers of plausible certification dates: 1950-01-01 .. 2099-12-31. Anything else is not a date.
_SERIAL_RANGE = range(18264, 73051)
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]?\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
DATE_FORMATS_HINT = "请写成2024-11-05、2024/11/5、2024年11月5日或20241105"


class BadCell(ValueError):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def text(value: object) -> str:
    """A cell as clean text: full-width digits, letters and spaces folded (NFKC), outer spaces gone."""
    if value is None:
        return ""
    if type(value) is str:
        # Printable ASCII is its own NFKC form and holds no control character: most IDs, dates and codes.
        if value.isascii() and value.isprintable():
            return value.strip()
        return _folded(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _fold_text(str(value))


@lru_cache(maxsize=65_536)
def _folded(value: str) -> str:
    """`text` of a string that is not plain ASCII, remembered: a list's township, village and category
    cells repeat a few thousand spellings over a million rows."""
    return _fold_text(value)


def _fold_text(value: str) -> str:
    # Control characters (a NUL cannot even be stored in PostgreSQL text) become a visible U+FFFD, so the
    # cell fails its own check with a reason instead of the whole request failing.
    return _CONTROL.sub("\ufffd", unicodedata.normalize("NFKC", value)).strip()


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def parse_date(value: object, field: str) -> date | None:
    """A date cell in any of the spellings departments use, or an Excel serial number; blank is None."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _from_serial(value, field)
    if type(value) is str:
        return _date_of_text(value, field)
    return _date_of_text(text(value), field)


@lru_cache(maxsize=65_536)
def _date_of_text(value: str, field: str) -> date | None:
    """A date written as text, remembered: a million-row list has a few thousand distinct dates (a cell
    that is no date raises, and is not remembered)."""
    raw = text(value).replace(" ", "")
    if not raw:
        return None
    for pattern in _DATE_PATTERNS:
        if m := pattern.match(raw):
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                raise BadCell("bad_date", f"{field}“{raw}”不是存在的日期") from None
    if re.fullmatch(r"\d{5}(\.0+)?", raw):
        return _from_serial(float(raw), field)
    raise BadCell("bad_date", f"{field}“{raw[:20]}”无法识别，{DATE_FORMATS_HINT}")


def _from_serial(serial: float, field: str) -> date:
    if int(serial) not in _SERIAL_RANGE:
        raise BadCell("bad_date", f"{field}“{serial:g}”不是日期，{DATE_FORMATS_HINT}")
    return _EXCEL_EPOCH + timedelta(days=int(serial))


def _fold(word: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", word))


# 监测类型 as 农业农村 write it: the official name with or without 户, or as 人口/对象, and the code.
_SUBTYPE_WORDS: dict[str, MonitoringSubtype] = {
    _fold(word): kind
    for kind in MonitoringSubtype
    for stem in (LABEL[kind].removesuffix("户"),)
    for word in (stem, stem + "户", stem + "人口", stem + "对象", kind.value)
}
MONITORING_TYPES_HINT = "、".join(LABEL[kind] for kind in MonitoringSubtype)
_CODES = frozenset(c.value for c in Category)

# Names departments write in the 人员类别 column, mapped to the canonical code (DOMAIN.md §9).
_CATEGORY_WORDS: dict[str, Category] = {
    **{word: Category.POVERTY_MONITORING for word in _SUBTYPE_WORDS},  # a subtype names its category
    **{_fold(LABEL[c]): c for c in Category},
    **{c.value: c for c in Category},
    "特困": Category.EXTREME_POVERTY, "特困人员": Category.EXTREME_POVERTY, "特困供养": Category.EXTREME_POVERTY,
    "特困供养对象": Category.EXTREME_POVERTY, "五保": Category.EXTREME_POVERTY, "五保户": Category.EXTREME_POVERTY,
    "低保": Category.MINIMUM_LIVING, "低保户": Category.MINIMUM_LIVING, "城乡低保": Category.MINIMUM_LIVING,
    "农村低保": Category.MINIMUM_LIVING, "城市低保": Category.MINIMUM_LIVING,
    "低保边缘": Category.LOW_INCOME_MARGINAL, "低边": Category.LOW_INCOME_MARGINAL,
    "低保边缘家庭": Category.LOW_INCOME_MARGINAL,
    "事实无人抚养": Category.UNSUPPORTED_CHILD,
    "监测对象": Category.POVERTY_MONITORING, "防返贫监测对象": Category.POVERTY_MONITORING,
    "脱贫不稳定户": Category.POVERTY_MONITORING, "边缘易致贫户": Category.POVERTY_MONITORING,
    "突发严重困难户": Category.POVERTY_MONITORING,
    "返贫致贫": Category.RELAPSED_POVERTY, "返贫": Category.RELAPSED_POVERTY,
    "脱贫户": Category.LIFTED_FROM_POVERTY, "脱贫": Category.LIFTED_FROM_POVERTY,
    "优抚对象": Category.ENTITLED_VETERAN,
    "重度残疾": Category.SEVERE_DISABILITY,
    "农村独生子女户": Category.ONLY_CHILD_FAMILY,
    "独女户": Category.DAUGHTER_FAMILY, "双女户": Category.DAUGHTER_FAMILY,
    "农村双女户": Category.DAUGHTER_FAMILY,
}


def category_code(value: object) -> str:
    """The canonical code for a category cell; unknown words come back as written (rejected later)."""
    if type(value) is str:
        return _category_of_text(value)
    return _category_of_text(text(value))


@lru_cache(maxsize=4096)
def _category_of_text(value: str) -> str:
    word = _fold(text(value))
    found = _CATEGORY_WORDS.get(word) or _CATEGORY_WORDS.get(word.lower())
    return found.value if found else word


def _subtype_word(value: object) -> tuple[str, MonitoringSubtype | None]:
    word = _fold(text(value))
    return word, _SUBTYPE_WORDS.get(word) or _SUBTYPE_WORDS.get(word.lower())


def subtype_named(value: object) -> str | None:
    """The subtype a 人员类别 cell names by itself (人员类别 = 边缘易致贫户), else None."""
    return found.value if (found := _subtype_word(value)[1]) else None


def monitoring_subtype(value: object) -> str | None:
    """The subtype code of a 监测类型 cell; None when blank. A word that is none of the three is refused
    with what was written and what to write, never guessed."""
    word, found = _subtype_word(value)
    if not word:
        return None
    if found is None:
        raise BadCell("unknown_monitoring_type",
                      f"监测类型“{word[:20]}”不是规定的类型：应填{MONITORING_TYPES_HINT}之一")
    return found.value


def monitoring_of(category: str, named: str | None, cell: object, *, required: bool) -> tuple[str, str | None]:
    """A row's category and subtype from its category code, the subtype its 人员类别 word names (`named`)
    and its 监测类型 cell. `required`: the file has no 人员类别 and its category comes from 监测类型 alone.

    A filled 监测类型 makes a row without a category a 防止返贫监测对象; beside another category it is a
    contradiction the clerk must resolve (the row is refused, never read as either)."""
    subtype = monitoring_subtype(cell)
    if subtype is None:
        if required:
            raise BadCell("missing_monitoring_type", f"缺少监测类型：请填{MONITORING_TYPES_HINT}之一")
        return category, named
    monitoring = Category.POVERTY_MONITORING.value
    if category and category != monitoring:
        if category not in _CODES:
            return category, None  # an unknown category is refused by its own rule, with its own reason
        raise BadCell("monitoring_type_mismatch",
                      f"人员类别为{LABEL[Category(category)]}，监测类型却填了“{LABEL[MonitoringSubtype(subtype)]}”："
                      f"监测类型只用于{LABEL[Category.POVERTY_MONITORING]}；如此人也是监测对象，请另起一行报送")
    if named and named != subtype:
        raise BadCell("monitoring_type_mismatch",
                      f"人员类别“{LABEL[MonitoringSubtype(named)]}”与监测类型“{LABEL[MonitoringSubtype(subtype)]}”"
                      "不一致：请核对后只保留一种")
    return monitoring, subtype


_FOOTER = re.compile(r"^(合计|总计|小计|共计|填表|制表|审核|负责人|单位负责人|经办人)")


def is_footer(cells: list[str]) -> bool:
    """A 合计 (total) row or a signature line under the list: not a person."""
    return any(_FOOTER.match(c.replace(" ", "")) for c in cells if c)
