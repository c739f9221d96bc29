"""A starting driver removes the scratch directories of dead drivers, never a live one's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lakehouse.spark.scratch import driver_scratch


def test_a_starting_driver_removes_only_the_scratch_of_drivers_that_are_gone(
    tmp_path: Path,
) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead = tmp_path / f"driver-{gone.stdout.strip()}"
    (dead / "userFiles").mkdir(parents=True)
    (dead / "userFiles" / "bundle.jar").write_bytes(b"x" * 1024)
    live_pid = os.getppid()
    live = tmp_path / f"driver-{live_pid}"
    live.mkdir()
    unrelated = tmp_path / "notes"
    unrelated.mkdir()

    mine = driver_scratch(tmp_path, pid=os.getpid())

    assert mine == tmp_path / f"driver-{os.getpid()}" and mine.is_dir()
    assert not dead.exists()
    assert live.is_dir() and unrelated.is_dir()
