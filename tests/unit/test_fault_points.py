"""Fault points: off unless armed, a clear error for a bad setting, death at the n-th pass."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lakehouse.spark.faults import EXIT_FAULT, FAULT_ENV, FaultPoint, parse_armed


def test_unset_means_off_and_a_bad_value_is_named() -> None:
    assert parse_armed(None) is None and parse_armed("") is None
    assert parse_armed("table_committed") == (FaultPoint.TABLE_COMMITTED, 1)
    assert parse_armed("batch_committed:3") == (FaultPoint.BATCH_COMMITTED, 3)
    with pytest.raises(ValueError, match=r"'table_comitted'.*table_committed, batch_committed"):
        parse_armed("table_comitted:2")
    with pytest.raises(ValueError, match="lease_renewal:0"):
        parse_armed("lease_renewal:0")


PROGRAM = """
import logging
from lakehouse.spark import faults
logging.basicConfig(level=logging.INFO)
for i in range(5):
    faults.reached(faults.FaultPoint.LEASE_RENEWAL)
    faults.reached(faults.FaultPoint.TABLE_COMMITTED)
    print("passed", i, flush=True)
"""


def run(armed: str | None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)}
    if armed is not None:
        env[FAULT_ENV] = armed
    return subprocess.run(
        [sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True, timeout=60
    )


def test_an_armed_point_kills_the_process_at_its_nth_pass_and_says_where() -> None:
    died = run("table_committed:3")
    assert died.returncode == EXIT_FAULT
    assert died.stdout.split("\n")[:-1] == ["passed 0", "passed 1"]
    assert "fault point table_committed reached (pass 3)" in died.stderr
    unarmed = run(None)
    assert unarmed.returncode == 0 and unarmed.stdout.count("passed") == 5
