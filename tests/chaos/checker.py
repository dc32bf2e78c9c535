"""What must hold after a chaos run, checked against the ledger: the report and the list of failures.

Each check reads the services' own records (PostgreSQL) or what they published
(Kafka), never a service's in-memory view:
- payment ingest: every receipt the ledger says is accepted has exactly one accepted
  row and exactly one published `payment.receipt-accepted` message id (a second id =
  processed twice); rejected rows carry a reason; dead letters are kept;
  in = accepted + rejected + dead-lettered + duplicates ignored; accepted fen = ledger;
- downstream: enrollment's, subsidy's and reconciliation's paid totals per person = ledger;
- dues: each status person's due = shared.policy.assess on the ledger's final statuses;
- replay: the state hash of a second system fed the same input topics from offset 0.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from datetime import date

import asyncpg

from shared.policy import assess, load_pack, parse_scenario
from tests.chaos.ledger import REGION, YEAR, Ledger

# (schema.table, columns): business state only — no generated ids, timestamps or revision counters,
# which legitimately differ between a run and its replay.
STATE_TABLES = (
    ("payment.receipt", "receipt_no, payload_sha256, verdict, reason_code, person_id, amount_fen"),
    ("payment.dead_letter", "raw_sha256, reason"),
    ("enrollment.enrollment", "person_id, year, state, paid_total_fen"),
    ("subsidy.due", "person_id, year, due_fen, subsidy_fen"),
    ("subsidy.payment", "receipt_no, person_id, amount_fen"),
    ("reconciliation.receipt", "receipt_no, person_id, amount_fen"),
)


async def state_hash(conn: asyncpg.Connection) -> tuple[str, dict[str, int]]:
    digest, counts = hashlib.sha256(), {}
    for table, columns in STATE_TABLES:
        try:
            rows = await conn.fetch(f"SELECT {columns} FROM {table} ORDER BY {columns}")
        except asyncpg.PostgresError as err:
            rows = []
            digest.update(repr(err).encode())
        counts[table] = len(rows)
        for row in rows:
            digest.update(json.dumps(list(row.values()), default=str, ensure_ascii=False).encode() + b"\n")
    return digest.hexdigest(), counts


def expected_due(statuses: dict[tuple[str, str], str | None], person_id: str) -> int:
    """The pure engine's due for a person who has not paid, assessed as subsidy assesses the unpaid."""
    period = load_pack(REGION, YEAR).collection_period
    scenario = parse_scenario({
        "region": REGION, "year": YEAR, "person": {"id": person_id}, "kind": "general",
        "statuses": [{"category": c, "certified_on": on, "ended_on": end} for (c, on), end in statuses.items()],
        "payment_date": min(max(date.today(), period.start), period.end),
    })
    return assess(scenario).due_fen


async def check(ledger: Ledger, pg_dsn: str, read_topic, topic_prefix: str) -> tuple[dict, list[str]]:
    failures: list[str] = []
    conn = await asyncpg.connect(pg_dsn)
    try:
        report = {"expected": ledger.expected()}
        report["payment"] = await _payment(conn, ledger, failures)
        report["published"] = await _published(ledger, read_topic, topic_prefix, failures)
        report["downstream"] = await _downstream(conn, ledger, failures)
        report["dues"] = await _dues(conn, ledger, failures)
        report["state_hash"], report["state_rows"] = await state_hash(conn)
    finally:
        await conn.close()
    # lost: receipts missing at payment ingest or on its topic, plus people paid short downstream;
    # doubled: a receipt accepted twice or processed under two message ids. People paid *over* downstream
    # (a lost reversal looks like that) fail the run too, counted apart as downstream_over.
    report["lost"] = report["payment"]["lost"] + report["published"]["lost"] + report["downstream"]["lost"]
    report["doubled"] = report["payment"]["doubled"] + report["published"]["doubled"]
    report["downstream_over"] = report["downstream"]["doubled"]
    return report, failures


async def _payment(conn: asyncpg.Connection, ledger: Ledger, failures: list[str]) -> dict:
    want = ledger.expected()
    accepted = ledger.accepted_receipts()
    rows = await conn.fetch("SELECT receipt_no, verdict, reason_code, reason, amount_fen FROM payment.receipt")
    got_accepted: Counter = Counter(r["receipt_no"] for r in rows if r["verdict"] == "accepted")
    rejected = [r for r in rows if r["verdict"] == "rejected"]
    lost = sorted(set(accepted) - set(got_accepted))
    doubled = sorted(no for no, n in got_accepted.items() if n > 1)
    unexpected = sorted(set(got_accepted) - set(accepted))
    accepted_fen = sum(r["amount_fen"] for r in rows if r["verdict"] == "accepted")
    dead = await conn.fetchval("SELECT count(*) FROM payment.dead_letter")
    kinds_by_no = defaultdict(list)
    for r in ledger.receipts:
        if r.expect == "rejected" and r.receipt_no:
            kinds_by_no[r.receipt_no].append(r.kind)
    rejected_by_kind: dict[str, Counter] = defaultdict(Counter)
    for r in rejected:
        kind = (kinds_by_no.get(r["receipt_no"]) or ["(not in ledger)"])[0]
        rejected_by_kind[kind][r["reason_code"] or "(none)"] += 1
    intake = await conn.fetchrow("SELECT coalesce(sum(received),0) AS received, coalesce(sum(duplicate),0) AS duplicate "
                                 "FROM payment.receipt_intake") if await conn.fetchval(
        "SELECT to_regclass('payment.receipt_intake') IS NOT NULL") else None
    out = {
        "accepted": sum(got_accepted.values()), "rejected": len(rejected), "dead_lettered": dead,
        "duplicates_ignored": want["records"] - sum(got_accepted.values()) - len(rejected) - dead,
        "accepted_fen": accepted_fen, "lost": len(lost), "doubled": len(doubled), "unexpected": len(unexpected),
        "rejected_by_kind": {k: dict(v) for k, v in sorted(rejected_by_kind.items())},
        "rejected_without_reason": sum(1 for r in rejected if not r["reason"]),
        "redeliveries_counted_by_intake": int(intake["received"]) - want["records"] if intake else None,
    }
    for name in ("accepted", "rejected", "dead_lettered"):
        if out[name] != want[name]:
            failures.append(f"payment: {name} {out[name]} != ledger {want[name]}")
    if out["duplicates_ignored"] != want["duplicate"]:
        failures.append(f"payment: in ≠ accepted + rejected + dead-lettered + duplicates "
                        f"({want['records']} ≠ {out['accepted']} + {out['rejected']} + {dead} + {want['duplicate']})")
    if accepted_fen != want["accepted_fen"]:
        failures.append(f"payment: accepted fen {accepted_fen} != ledger {want['accepted_fen']}")
    if lost or doubled or unexpected:
        failures.append(f"payment: lost {len(lost)} {lost[:3]}, doubled {len(doubled)} {doubled[:3]}, "
                        f"accepted but not in the ledger {len(unexpected)} {unexpected[:3]}")
    if out["rejected_without_reason"]:
        failures.append(f"payment: {out['rejected_without_reason']} rejected receipts kept without a reason")
    return out


async def _published(ledger: Ledger, read_topic, prefix: str, failures: list[str]) -> dict:
    records = await read_topic(prefix + "payment.receipt-accepted")
    ids_by_no: dict[str, set[str]] = defaultdict(set)
    for record in records:
        m = json.loads(record.value)
        ids_by_no[m["receipt_no"]].add(m["message_id"])
    accepted = ledger.accepted_receipts()
    lost = sorted(set(accepted) - set(ids_by_no))
    doubled = sorted(no for no, ids in ids_by_no.items() if len(ids) > 1)
    out = {"records": len(records), "distinct_receipts": len(ids_by_no),
           "republished_by_relay": len(records) - sum(len(ids) for ids in ids_by_no.values()),
           "lost": len(lost), "doubled": len(doubled)}
    if lost or doubled:
        failures.append(f"payment.receipt-accepted: missing {len(lost)} {lost[:3]}, "
                        f"published under two message ids (processed twice) {len(doubled)} {doubled[:3]}")
    return out


async def _downstream(conn: asyncpg.Connection, ledger: Ledger, failures: list[str]) -> dict:
    paid = ledger.paid_by_person()
    out: dict = {"lost": 0, "doubled": 0}
    queries = {
        "enrollment": "SELECT person_id, paid_total_fen AS fen FROM enrollment.enrollment WHERE region = $1 AND year = $2",
        "subsidy": "SELECT person_id, sum(amount_fen) AS fen FROM subsidy.payment WHERE region = $1 AND year = $2 "
                   "GROUP BY person_id",
        "reconciliation": "SELECT person_id, sum(amount_fen) AS fen FROM reconciliation.receipt "
                          "WHERE region = $1 AND year = $2 GROUP BY person_id",
    }
    for service, sql in queries.items():
        try:
            got = {r["person_id"]: int(r["fen"]) for r in await conn.fetch(sql, REGION, YEAR)}
        except asyncpg.PostgresError as err:  # a renamed table is a failed check, never a skipped one
            failures.append(f"{service}: paid totals could not be read: {err!r}")
            continue
        less = [p for p, fen in paid.items() if got.get(p, 0) < fen]
        more = [p for p, fen in got.items() if fen > paid.get(p, 0)]
        total = sum(got.values())
        out[service] = {"people": len(got), "fen": total, "short": len(less), "over": len(more)}
        out["lost"] += len(less)
        out["doubled"] += len(more)
        if less or more or total != sum(paid.values()):
            failures.append(f"{service}: paid totals differ from the ledger — {len(less)} people short, "
                            f"{len(more)} over, {total} fen vs {sum(paid.values())}")
    return out


async def _dues(conn: asyncpg.Connection, ledger: Ledger, failures: list[str]) -> dict:
    people = ledger.final_statuses()
    got = {r["person_id"]: r["due_fen"] for r in await conn.fetch(
        "SELECT person_id, due_fen FROM subsidy.due WHERE year = $1 AND person_id = ANY($2::text[])",
        YEAR, list(people))}
    wrong = {p: (got.get(p), expected_due(s, p)) for p, s in people.items() if got.get(p) != expected_due(s, p)}
    if wrong:
        failures.append(f"subsidy: {len(wrong)} of {len(people)} dues differ from shared.policy.assess "
                        f"(got, want): {list(wrong.values())[:3]}")
    return {"people": len(people), "assessed": len(got), "wrong": len(wrong),
            "by_due_fen": dict(sorted(Counter(got.values()).items()))}
