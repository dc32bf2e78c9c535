"""Settings of the reconciliation service (environment, prefix YIBAO_). Every default is documented here."""
from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    timezone: str = Field(
        "Asia/Shanghai", description="Time zone of business days: a receipt paid at 23:30 belongs to that local day.")
    settlement_lag_days: int = Field(
        1, ge=0, description="DEFAULT 1 (T+1): banks settle a day's receipts by the next day; a receipt paid on day D "
        "with no settlement line after D + lag is reported as not settled.")
    agent_deposit_days: int = Field(
        1, ge=0, description="DEFAULT 1: a village agent deposits cash collected on day D by D + 1 (日清日结, next "
        "banking day at the latest). No region document gives a number; set a region's own with "
        "agent_deposit_days_by_region.")
    agent_deposit_days_by_region: dict[str, int] = Field(
        default_factory=dict, description='Per-region deposit limit in days, e.g. {"340321": 3} (JSON).')
    run_part_rows: int = Field(
        50_000, ge=1, description="DEFAULT 50,000: a run reads its region-year a range of person IDs at a time, "
        "each holding about this many rows of receipts, bookings, dues and agents' lines (with their settlement "
        "lines): a run's memory is bounded by this, not by the region (measured: python -m "
        "tests.bench.reconciliation_bench). Smaller saves memory for more queries; the answer is the same.")
    schedule_enabled: bool = Field(True, description="Run reconciliation every day at schedule_at (local time).")
    schedule_at: str = Field("23:30", pattern=r"^\d{2}:\d{2}$", description="Local time of the daily run (HH:MM).")
    console_refresh_s: int = Field(
        60, ge=5, description="During a collection period the console reloads itself this often (seconds).")
    upload_max_bytes: int = Field(
        200 * 1024 * 1024, ge=1,
        description="DEFAULT 200 MiB (the seeds give no size): a bank settlement, deposit or target file larger "
        "than this is refused with 413, to be sent per bank and date.")
    # The season-end forecast (domain/forecast.py; measured by python -m tests.bench.forecast_backtest). These are
    # the model's own choices, not policy: no document gives them.
    forecast_level: float = Field(
        0.8, gt=0, lt=1, description="DEFAULT 0.8: the forecast interval holds the season's end this often in the "
        "backtest of the same method (its 10th to 90th percentile of errors).")
    forecast_min_people: int = Field(
        10, ge=1, description="DEFAULT 10: a place with fewer paying people gives no backtest error to the interval "
        "(a ratio of a handful of people says nothing about a township).")
    forecast_min_residuals: int = Field(
        5, ge=2, description="DEFAULT 5: fewer backtest errors at a level (villages; townships) and it borrows all "
        "places'; fewer still and no interval is given.")
    forecast_min_reached: float = Field(
        0.05, gt=0, lt=1, description="DEFAULT 0.05: last year's curve is used as the shape once it had reached this "
        "share of its end by the same point of the period; before that the saturating curve is used.")

    def deposit_days(self, region: str) -> int:
        return self.agent_deposit_days_by_region.get(region, self.agent_deposit_days)
