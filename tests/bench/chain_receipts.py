"""Receipts for the chain benchmark (tests/bench/chain_bench.py): valid, accepted, fast and deterministic.

Receipt `i` is the only receipt of person `i`: people are spread round-robin over the four seed
regions (340321 怀远, 341522 霍邱, 430502 双清, 610900 安康), born 1965-2004 (adults: no age-based
subsidy changes what they owe), paying the region's standard contribution for 2025 (40000 fen) on a
day inside the region's collection period, through one of the self-service channels. Every person
has a place in the region's household register (`register_rows`): 12 townships × 20 villages per
region, so each receipt ends up in a village counter.

The records are `cli.receipt_season.Simulated` (what `produce` sends and the ingest benchmark's
`Truth` adds up); their `expect` is what payment ingest's own policy windows say of the paid day
and amount (the same check `cli/receipt_season.py` labels its season with), so a receipt the
rules would refuse is counted as such rather than assumed accepted. Unlike that season there are
no duplicates, conflicts, rejects or reversals: every record is meant to travel the whole chain.
A message id is derived from the index (no uuid4 per record), the JSON is written by `json.dumps`
once per record: about 25 µs a record.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from functools import cache

from cli.receipt_season import CHANNELS, Simulated
from shared.policy import load_pack
from shared.resident_id import check_character, person_key

REGIONS = ("340321", "341522", "430502", "610900")
YEAR = 2025
TOWNSHIPS, VILLAGES = 12, 20        # per region, villages per township
BEIJING = timezone(timedelta(hours=8))
_BORN_FROM, _BORN_DAYS = date(1965, 1, 1), 40 * 365  # × 1000 sequence numbers: 14.6 M people per region
_NAMESPACE = 0x636861696E  # "chain": the high bits of the message ids


def region_of(index: int) -> str:
    return REGIONS[index % len(REGIONS)]


def person_id(index: int) -> str:
    """Person `index`'s resident ID: valid (check character), unique for index < 4 × 14.6 M."""
    k = index // len(REGIONS)
    born = _BORN_FROM + timedelta(days=k % _BORN_DAYS)
    first17 = f"{region_of(index)}{born:%Y%m%d}{k // _BORN_DAYS:03d}"
    return first17 + check_character(first17)


def place(index: int) -> tuple[str, str]:
    """(township, village) of person `index` in their region's register."""
    k = index // len(REGIONS)
    township = (k * 7) % TOWNSHIPS
    return f"第{township + 1:02d}镇", f"第{township + 1:02d}镇{(k // TOWNSHIPS) % VILLAGES + 1:02d}村"


def receipt_no(index: int) -> str:
    return f"8{region_of(index)}{YEAR % 100:02d}{index:010d}"


@cache
def _season(region: str) -> tuple[int, date, int]:
    """The region's standard contribution, first day of collection and the period's length in days."""
    pack = load_pack(region, YEAR)
    start, end = pack.collection_period.start, pack.collection_period.end
    return pack.money.individual_contribution, start, (end - start).days + 1


def receipt(index: int, windows) -> Simulated:
    region = region_of(index)
    standard, start, days = _season(region)
    k = index // len(REGIONS)
    day = start + timedelta(days=(k * 37) % days)
    paid = datetime(day.year, day.month, day.day, 8 + (k // 7) % 13, k % 60, (k * 13) % 60, tzinfo=BEIJING)
    pid = person_id(index)
    stamp = paid.isoformat()
    no = receipt_no(index)
    value = json.dumps(
        {"message_id": str(uuid.UUID(int=(_NAMESPACE << 64) | index, version=4)), "occurred_at": stamp,
         "receipt_no": no, "person_id": pid, "region": region, "year": YEAR, "amount_fen": standard,
         "channel": CHANNELS[index % len(CHANNELS)], "paid_at": stamp},
        ensure_ascii=False, separators=(",", ":")).encode()
    w = windows.window(region, YEAR, paid)
    expect = ("accepted" if w.open and w.general_due_fen == standard
              else f"rejected:{w.reason_code or 'amount_differs_from_due'}")
    return Simulated(person_key(pid).encode(), value, no, standard, expect)


def receipts(start: int, count: int) -> Iterator[Simulated]:
    """Receipts `start` … `start + count - 1`, in order."""
    from services.payment_ingest.domain.windows import PolicyWindows  # the rules payment ingest applies
    windows = PolicyWindows()
    for index in range(start, start + count):
        yield receipt(index, windows)


def register_rows(start: int, count: int) -> Iterator[tuple[str, str, str, str]]:
    """(person_id, region, township, village) of people `start` … `start + count - 1`."""
    for index in range(start, start + count):
        yield (person_id(index), region_of(index), *place(index))
