"""The policy pack: every amount, date, period and rule switch of one region and coverage year.

A pack is a YAML file validated by these models. Unknown keys are refused, so a
misspelt switch cannot silently fall back to code behaviour: nothing here has a
region-specific default. Amounts are written in CNY (元) as in the documents and
held in fen. Each setting the documents do not give is listed under `defaults`
with the reason for the value chosen; the engine tells the person when a decision
rests on one.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal, NamedTuple, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.fields import FieldInfo

from shared.codes import LABEL, Category, EnrollmentKind, FundingSource, Mode, RefundReason


def _yuan_to_fen(value: object) -> int:
    """400 → 40000; refuses negatives, booleans and fractions of a fen."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise ValueError("amount must be a number of CNY (元)")
    try:
        fen = Decimal(str(value)) * 100
    except InvalidOperation:
        raise ValueError(f"amount {value!r} is not a number") from None
    if fen != fen.to_integral_value() or fen < 0:
        raise ValueError(f"amount {value!r} must be ≥ 0 with at most two decimals")
    return int(fen)


Fen = Annotated[int, BeforeValidator(_yuan_to_fen)]
"""Written in the YAML as CNY, held as integer fen."""


def is_amount(field: FieldInfo) -> bool:
    """Is this model field an amount (`Fen`, alone or in a union): written in CNY, held in fen?"""
    return any(_is_fen_validator(m) for m in field.metadata) or _holds_fen(field.annotation)


def _holds_fen(annotation: object) -> bool:
    if get_origin(annotation) is Annotated:
        return any(_is_fen_validator(m) for m in getattr(annotation, "__metadata__", ()))
    return any(_holds_fen(arg) for arg in get_args(annotation))


def _is_fen_validator(marker: object) -> bool:
    return isinstance(marker, BeforeValidator) and marker.func is _yuan_to_fen


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Period(_Strict):
    start: date
    end: date
    source: str

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError("end is before start")
        return self

    def contains(self, d: date) -> bool:
        return self.start <= d <= self.end


class Money(_Strict):
    individual_contribution: Fen
    fiscal_subsidy: Fen | None = None
    late_surcharge: Fen | None = Field(None, description="added to the individual rate when a path says standard_plus_surcharge")
    source: str


class SubsidyRule(_Strict):
    """What one status is worth: a fixed `amount`, `full` (the whole individual rate) or `same_as` another status."""

    amount: Fen | Literal["full"] | None = None
    same_as: Category | None = None
    funding_source: FundingSource
    mode: Mode
    source: str

    @model_validator(mode="after")
    def _one_amount(self) -> SubsidyRule:
        if (self.amount is None) == (self.same_as is None):
            raise ValueError("give exactly one of amount or same_as")
        return self


class StatusRules(_Strict):
    count_certified_by: date | None = Field(description="a status certified later counts for the next year; null: any date up to the payment")
    after_payment: Literal["ignore", "refund"] = Field(description="a status certified after the person paid: ignored, or its subsidy refunded")
    refund_certified_by: date | None = None
    multiple: Literal["highest"]
    source: str

    @model_validator(mode="after")
    def _refund_needs_cutoff(self) -> StatusRules:
        if self.after_payment == "refund" and self.refund_certified_by is None:
            raise ValueError("after_payment: refund needs refund_certified_by")
        return self


class Window(_Strict):
    """When a payment may be made for a path. `event` is the scenario's birth or event date."""

    type: Literal["collection", "dates", "after_event", "before_age", "in_year"]
    start: date | None = None
    end: date | None = None
    event: Literal["birth", "event"] | None = None
    days: int | None = Field(None, ge=1)
    months: int | None = Field(None, ge=1, description="after_event counted in calendar months instead of days")
    years: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _complete(self) -> Window:
        need = {"dates": ("start", "end"), "after_event": ("event",), "before_age": ("years",)}
        missing = [f for f in need.get(self.type, ()) if getattr(self, f) is None]
        if self.type == "after_event" and (self.days is None) == (self.months is None):
            missing.append("days or months (one of them)")
        if missing:
            raise ValueError(f"window type {self.type} needs {', '.join(missing)}")
        return self


class Requires(_Strict):
    birth_in_year: bool | None = Field(None, description="born in the coverage year (true) or not (false)")
    born_within_days_before_year: int | None = Field(None, ge=1, description="born in the previous year, fewer than N days before it ends")
    has_subsidy_status: bool | None = None
    event_on_or_after: date | None = None
    event_before_year: bool | None = Field(None, description="the event fell before the coverage year began (true)")
    continuous_years: int | None = Field(None, ge=1, description="covered in each of the N years before the coverage year")


BenefitStart = Literal[
    "period_start", "birth", "event", "payment", "day_after_payment", "month_after_payment", "month_of_payment", "fixed"
]


class Path(_Strict):
    """One way to enrol: who (kinds), when the payment is made (window), and what follows."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str
    kinds: list[EnrollmentKind] | Literal["all"]
    window: Window
    requires: Requires = Requires()
    rate: Literal["standard", "standard_plus_surcharge"] = "standard"
    subsidy: Literal["apply", "none", "institution"]
    benefit_start: BenefitStart
    benefit_start_date: date | None = None
    may_start_before_year: bool = False
    waiting: Literal["none", "continuity", "fixed"]
    source: str

    @model_validator(mode="after")
    def _fixed_has_date(self) -> Path:
        if (self.benefit_start == "fixed") != (self.benefit_start_date is not None):
            raise ValueError("benefit_start: fixed goes with benefit_start_date, and only it")
        return self

    def serves(self, kind: EnrollmentKind) -> bool:
        return self.kinds == "all" or kind in self.kinds


class Denial(_Strict):
    text: str
    source: str


class Payback(_Strict):
    """Paying back a gap year (补缴) to repair the variable waiting period: at what rate, and on whose word."""

    amount: Literal["individual_contribution"] = Field(
        description="what one gap year costs: the individual contribution of the coverage year being enrolled for")
    source: str


class Waiting(_Strict):
    fixed_months: int = Field(ge=0)
    fixed_as_days: int | None = Field(None, ge=1, description="the fixed period counted in days instead (SQ: 90)")
    variable_months_per_gap_year: int = Field(ge=0)
    gap_years_without_variable: int = Field(ge=0, description="gap years covered by the fixed period alone")
    long_gap_years: int = Field(ge=1)
    long_gap_min_total_months: int = Field(ge=0)
    first_enrollment_is_gap: bool
    payback: Payback | None = Field(None, description="gap years may be paid back to repair the variable wait; "
                                    "none: the documents do not provide for it in this region")
    source: str


class CriticalIllness(_Strict):
    reenroll_cut: Fen
    continuity_free_years: int = Field(ge=0)
    continuity_step: Fen
    zero_reimbursement_step: Fen
    increase_cap_percent: int = Field(ge=0, le=100)
    provincial_cap: Fen | None = Field(description="大病保险封顶线; null when the documents do not give it")
    continuity_counted_from: int | None
    source: str


class Place(_Strict):
    rule: Literal["hukou_or_residence"]
    exempt_kinds: list[EnrollmentKind]
    source: str


class Refunds(_Strict):
    before_start_reasons: list[RefundReason]
    source: str


class County(_Strict):
    name: str
    subsidies: dict[Category, SubsidyRule]


class DefaultNote(_Strict):
    setting: str
    why: str
    awaiting: str | None = Field(None, description="who must fill in the figure the documents do not give; until "
                                 "then the setting is provisional (暂定) and every assessment using it says so")


class Awaiting(NamedTuple):
    """A provisional default: the setting, why it holds the value it has, who must fill in the real one, and
    what it is in words an official reads."""

    setting: str
    why: str
    who: str
    what: str


_CATEGORY_CODES = frozenset(c.value for c in Category)
_SETTING_WORDS = {"money.fiscal_subsidy": "财政补助标准", "money.late_surcharge": "集中期外加收金额",
                  "money.individual_contribution": "个人缴费标准"}


class Pack(_Strict):
    schema_version: Literal[1]
    region: str = Field(pattern=r"^\d{6}$")
    name: str
    year: int = Field(ge=2000, le=2100)
    version: int = Field(ge=1)
    pooling: Literal["county", "city"]
    seed: str | None
    scope_kinds: list[EnrollmentKind] | None = Field(None, description="null: every kind; else only these")
    money: Money
    collection_period: Period
    benefit_period: Period
    reminder_date: date | None = None
    status_rules: StatusRules
    subsidies: dict[Category, SubsidyRule]
    paths: list[Path] = Field(min_length=1)
    no_path: Denial
    waiting: Waiting | None
    critical_illness: CriticalIllness | None
    place: Place
    refunds: Refunds
    counties: dict[str, County] = {}
    defaults: list[DefaultNote]
    applies_to: str | None = Field(None, description="set by the loader: the county a city pack was loaded for")

    @model_validator(mode="after")
    def _consistent(self) -> Pack:
        if self.benefit_period.start.year != self.year:
            raise ValueError(f"benefit_period starts in {self.benefit_period.start.year}, not in year {self.year}")
        ids = [p.id for p in self.paths]
        if len(ids) != len(set(ids)):
            raise ValueError("paths: ids must be unique")
        for table in [self.subsidies, *(c.subsidies for c in self.counties.values())]:
            for cat, rule in table.items():
                if rule.same_as is None:
                    continue
                target = table.get(rule.same_as) or self.subsidies.get(rule.same_as)
                if target is None or target.same_as:
                    raise ValueError(f"subsidies.{cat}: same_as {rule.same_as} must name a status with an amount")
        for code in self.counties:
            if self.pooling != "city" or code[:4] != self.region[:4]:
                raise ValueError(f"counties.{code}: only a city pack has counties, and only its own")
        return self

    @property
    def key(self) -> str:
        return f"{self.region}-{self.year}@v{self.version}"

    def takes_kind(self, kind: EnrollmentKind) -> bool:
        """Does this pack judge `kind` at all (`scope_kinds`)? 怀远县2024 takes newborns only."""
        return self.scope_kinds is None or kind in self.scope_kinds

    def covers(self, code: str) -> bool:
        """Is `code` inside this pooling region (a city covers its counties)?"""
        return code[:4] == self.region[:4] if self.pooling == "city" else code == self.region

    def default_note(self, setting: str) -> str | None:
        """Why a setting (dotted path) has the value it has, if it is a documented default."""
        matches = [d for d in self.defaults if setting == d.setting or setting.startswith(d.setting + ".")]
        return max(matches, key=lambda d: len(d.setting)).why if matches else None

    def awaiting(self) -> tuple[Awaiting, ...]:
        """The provisional defaults of this pack, for the console: each figure a county must still fill in.

        Loaded for one county of a city pack, another county's overrides are left out."""
        return tuple(Awaiting(d.setting, d.why, d.awaiting, self.describe(d.setting)) for d in self.defaults
                     if d.awaiting is not None and self._concerns_this_region(d.setting))

    def describe(self, setting: str) -> str:
        """A setting in words: "紫阳县资助标准" for counties.610924.subsidies, else the dotted path itself."""
        parts = setting.split(".")
        county = self.counties.get(parts[1]) if parts[0] == "counties" and len(parts) > 1 else None
        if county is not None:
            return county.name + self.describe(".".join(parts[2:]))
        if parts[0] == "subsidies":
            category = parts[1] if len(parts) > 1 and parts[1] in _CATEGORY_CODES else None
            return (LABEL[Category(category)] if category else "") + "资助标准"
        return _SETTING_WORDS.get(setting, setting)

    def _concerns_this_region(self, setting: str) -> bool:
        parts = setting.split(".")
        if self.applies_to is None or parts[0] != "counties" or len(parts) < 2:
            return True
        return parts[1] == self.applies_to

    def subsidy_setting(self, category: Category) -> str:
        """The dotted path of the rule that prices `category` here (a county override wins)."""
        county = self.counties.get(self.applies_to or "")
        if county and category in county.subsidies:
            return f"counties.{self.applies_to}.subsidies.{category}"
        return f"subsidies.{category}"

    def subsidy_rule(self, category: Category) -> SubsidyRule | None:
        county = self.counties.get(self.applies_to or "")
        if county and category in county.subsidies:
            return county.subsidies[category]
        return self.subsidies.get(category)

    def subsidy_fen(self, category: Category) -> int | None:
        """What `category` is worth in fen, following same_as and capped at the individual rate."""
        rule = self.subsidy_rule(category)
        if rule is None:
            return None
        if rule.same_as is not None:
            return self.subsidy_fen(rule.same_as)
        assert rule.amount is not None, "SubsidyRule._one_amount: a rule without same_as has an amount"
        standard = self.money.individual_contribution
        return standard if rule.amount == "full" else min(rule.amount, standard)
