"""Resident IDs must not leak: a scan of what a run leaves behind for the unmasked ones.

Looks at the services' logs, the dead-letter topic, every service's /metrics output
and the bodies of error answers (collected by `probe_errors`, which sends the kinds
of bad requests that tempt a framework to echo its input). Anything shaped like a
resident ID whose check character is right counts as a leak.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import httpx

from shared.resident_id import check_character

# Bounded by anything but an ASCII letter or digit: an ID in JSON, a log line or Chinese text is found, while
# a run of 18 digits inside a hex digest (a dead letter's raw_sha256 held one in the 200k run) is not an ID.
_ID = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


def full_ids(text: str) -> set[str]:
    """Valid-looking unmasked resident IDs in `text`."""
    return {m for m in _ID.findall(text) if check_character(m[:17]) == m[17].upper()}


def scan(sources: dict[str, str]) -> dict[str, int]:
    """source name -> how many distinct unmasked IDs it holds (only sources with any)."""
    found = {name: len(full_ids(text)) for name, text in sources.items()}
    return {name: n for name, n in found.items() if n}


def log_sources(log_dir: Path) -> dict[str, str]:
    return {f"log:{p.name}": p.read_text(errors="replace") for p in sorted(log_dir.glob("*.log"))}


async def metrics_sources(urls: dict[str, str]) -> dict[str, str]:
    out = {}
    async with httpx.AsyncClient(timeout=30) as client:
        for service, url in urls.items():
            out[f"metrics:{service}"] = (await client.get(url)).text
    return out


async def probe_errors(identity_url: str, token: str, person_id: str) -> dict[str, str]:
    """Bad requests that carry a real ID; their answers must not give it back unmasked."""
    bad_rows = [
        {"id": person_id[:17] + ("0" if person_id[17] != "0" else "1"), "category": "minimum_living",
         "certified_on": "2024-10-08"},                                            # wrong check character
        {"id": person_id, "category": "not_a_category", "certified_on": "2024-10-08"},  # unknown code
        {"id": person_id, "category": "minimum_living", "certified_on": "2024-02-30"},  # impossible date
    ]
    digit_checked = person_id if person_id[17].isdigit() else None
    probes = {
        "rows_rejected": {"period": "2024-10", "rows": bad_rows},
        "id_as_number": {"period": "2024-10", "rows": [{"id": int(digit_checked or person_id[:17] + "0"),
                                                          "category": 7}]},
        "bad_period": {"period": f"2024-13-{person_id}", "rows": []},
        "row_not_object": {"period": "2024-10", "rows": [person_id]},
    }
    out: dict[str, str] = {}
    async with httpx.AsyncClient(timeout=30) as client:
        for name, body in probes.items():
            answer = await client.post(f"{identity_url}/api/submissions", json=body,
                                       headers={"Authorization": f"Bearer {token}"})
            out[f"error:{name}:{answer.status_code}"] = answer.text
        answer = await client.post(f"{identity_url}/api/submissions", json={"period": "2024-10", "rows": []},
                                   headers={"Authorization": f"Bearer {person_id}"})
        out[f"error:credential_is_an_id:{answer.status_code}"] = answer.text
    return out


def summary(sources: dict[str, str]) -> dict:
    leaks = scan(sources)
    return {"sources_scanned": len(sources), "bytes_scanned": sum(len(t) for t in sources.values()),
            "unmasked_ids": sum(leaks.values()), "where": dict(Counter(leaks))}
