"""`yibao demo` (the end of `make run`) completes against the five running services."""
from __future__ import annotations

import asyncio
import os
import sys

from tests.support.system import ROOT, System


async def test_the_demo_season_runs_through_and_counts_the_payers(system: System):
    env = {
        **os.environ, **system.servers.env(), "YIBAO_PG_DSN": system.pg_dsn,
        "YIBAO_TOPIC_PREFIX": system.topic_prefix,
        "YIBAO_IDENTITY_URL": system.url("identity_certification", ""),
        "YIBAO_ENROLLMENT_URL": system.url("enrollment", ""),
        "YIBAO_SUBSIDY_URL": system.url("subsidy", ""),
        "YIBAO_RECONCILIATION_URL": system.url("reconciliation", ""),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from cli.main import app; app()", "demo", "--people", "12", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    text = output.decode()
    assert process.returncode == 0, text
    assert "1笔金额不符被退回" in text
    # the people with a path of their own, by their records: from birth, after the wait, repaired by paying back
    assert "新生儿（2025-02-01出生，2月登记缴费）：缴费400元，待遇期 2025-02-01 至 2025-12-31" in text, text
    assert "断保2年（2023、2024）并补缴2023年度：缴费400元，待遇期 2025-05-10 至 2025-12-31，等待期3个月，补缴修复[2023]" in text
    assert "大病保险限额调整-3000元" in text
    paid = int(text.split("完成：")[1].split("人缴费入账")[0])
    counted = sum(int(line.split()[2]) for line in text.splitlines() if line.strip().endswith(".00")
                  and len(line.split()) == 4)
    assert paid > 0 and counted == paid, text
