"""Unit tests of the crash points' switch (shared/faults.py): off unless named, exact about which hit fires."""
from __future__ import annotations

import subprocess
import sys

import pytest

from shared.faults import EXIT_CODE, parse


def test_nothing_armed_without_the_variable() -> None:
    assert parse("") == {}


def test_first_hit_by_default_and_the_nth_when_asked() -> None:
    first = parse("after_db_commit")["after_db_commit"]
    assert first.fires() is True
    third = parse("mid_batch#3")["mid_batch"]
    assert [third.fires() for _ in range(4)] == [False, False, True, False]


def test_probability_zero_never_fires() -> None:
    trigger = parse("after_publish%0")["after_publish"]
    assert not any(trigger.fires() for _ in range(100))


def test_unknown_point_is_an_error_not_a_silent_no_op() -> None:
    with pytest.raises(ValueError, match="unknown crash point"):
        parse("after_comit")


def test_a_named_point_ends_the_process_like_a_kill() -> None:
    code = "from shared.faults import crash_point\ncrash_point('mid_batch')\ncrash_point('after_db_commit')\nprint('survived')"
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"YIBAO_CRASH_AT": "after_db_commit", "PATH": ""}, cwd=".")
    assert ran.returncode == EXIT_CODE
    assert "survived" not in ran.stdout and "after_db_commit" in ran.stderr
