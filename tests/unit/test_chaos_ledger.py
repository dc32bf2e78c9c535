"""The chaos harness's own pure parts: the ledger is deterministic and self-consistent, the leak scan
finds real IDs and only them."""
from __future__ import annotations

import hashlib
import json

from tests.chaos.leaks import full_ids
from tests.chaos.ledger import KINDS, generate
from tests.support.people import resident_id


def test_the_same_seed_gives_the_same_ledger() -> None:
    a, b = generate(3000, seed=5), generate(3000, seed=5)
    assert [(r.value, r.expect) for r in a.receipts] == [(r.value, r.expect) for r in b.receipts]
    assert a.expected() == b.expected()


def test_every_kind_appears_and_outcomes_add_up() -> None:
    ledger = generate(20_000, seed=7)
    expected = ledger.expected()
    assert set(KINDS) | {"valid"} == set(expected["by_kind"])
    assert expected["records"] == sum(expected[k] for k in ("accepted", "rejected", "dead_lettered", "duplicate"))


def test_no_two_records_expect_a_verdict_for_the_same_payload() -> None:
    """Two different expectations for byte-identical business content would make the ledger wrong."""
    seen: dict[str, str] = {}
    for r in generate(60_000, seed=7).receipts:  # the old generator mislabelled 2 records at this size
        try:
            body = json.loads(r.value)
        except ValueError:
            continue
        body.pop("message_id", None), body.pop("occurred_at", None)
        key = json.dumps(body, sort_keys=True)
        if key in seen:
            assert r.expect == "duplicate", (r.kind, seen[key])
        seen.setdefault(key, r.kind)


def test_records_of_one_person_keep_their_order_after_the_shuffle() -> None:
    ledger = generate(5000, seed=3)
    position = {r.receipt_no: i for i, r in enumerate(ledger.receipts) if r.kind == "valid"}
    for i, r in enumerate(ledger.receipts):
        if r.kind == "reversal":
            original = json.loads(r.value)["original_receipt_no"]
            assert position[original] < i


def test_leak_scan_finds_ids_in_text_and_ignores_masks_and_digests() -> None:
    person = resident_id("340321")
    assert full_ids(f'{{"person_id":"{person}"}}') == {person}
    assert full_ids(f"身份证号{person}的缴费") == {person}
    assert full_ids(person[:6] + "*" * 10 + person[-2:]) == set()
    digest = "cf995beddf9b26d4a212811347251573345eda8f3fb15dac90d9a6ee7689ac91"  # held 18 digits, valid check
    assert full_ids(digest) == set()
    assert full_ids(hashlib.sha256(b"x").hexdigest()) == set()
