"""The supervisor signals only what it started, and a whole process group at that."""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path

import psutil
import pytest

from lakehouse.runtime.processes import (
    ProcessManager,
    ProcessSpec,
    StartupError,
    port_is_free,
    started_after_boot,
)

CHILD_AND_GRANDCHILD = (
    "import subprocess, sys, time; "
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"
)


def spec(name: str, code: str, healthy: bool = True, timeout: float = 5.0) -> ProcessSpec:
    return ProcessSpec(
        name=name,
        argv=[sys.executable, "-c", code],
        env={},
        health=lambda: healthy,
        startup_timeout=timeout,
    )


def test_start_is_idempotent_and_stop_ends_the_whole_family(tmp_path: Path) -> None:
    manager = ProcessManager(tmp_path / "run", tmp_path / "logs")
    first = manager.start(spec("sleeper", CHILD_AND_GRANDCHILD))
    assert manager.start(spec("sleeper", CHILD_AND_GRANDCHILD)).pid == first.pid
    deadline = time.monotonic() + 5
    while not first.children() and time.monotonic() < deadline:
        time.sleep(0.05)
    family = [first, *first.children(recursive=True)]
    assert len(family) == 2

    assert manager.stop("sleeper", timeout=5)
    _, alive = psutil.wait_procs(family, timeout=5)
    assert alive == []
    assert manager.process("sleeper") is None
    assert not manager.stop("sleeper")


def test_a_recycled_pid_is_not_ours(tmp_path: Path) -> None:
    manager = ProcessManager(tmp_path / "run", tmp_path / "logs")
    (tmp_path / "run").mkdir()
    me = psutil.Process()
    # Our own pid, but a different start time: it must not be taken for the service.
    (tmp_path / "run" / "ghost.pid").write_text(
        json.dumps({"pid": me.pid, "after_boot": started_after_boot(me) - 1000})
    )
    assert manager.process("ghost") is None
    assert not (tmp_path / "run" / "ghost.pid").exists()


def test_a_pid_file_from_before_the_boot_relative_start_still_names_its_process(
    tmp_path: Path,
) -> None:
    manager = ProcessManager(tmp_path / "run", tmp_path / "logs")
    (tmp_path / "run").mkdir()
    me = psutil.Process()
    (tmp_path / "run" / "old.pid").write_text(
        json.dumps({"pid": me.pid, "started": me.create_time()})
    )
    assert manager.process("old") is not None


_real_create_time = psutil.Process.create_time


def test_a_stepped_system_clock_does_not_orphan_the_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wall clock jumps (NTP, a resumed VM): psutil's boot time and every create_time() move
    with it, and a process started before the jump must still be found, and stopped."""
    manager = ProcessManager(tmp_path / "run", tmp_path / "logs")
    started = manager.start(spec("sleeper", "import time; time.sleep(60)"))
    stepped = psutil.boot_time() + 22.0  # as measured on 2026-12-05 between `up` and `down`
    monkeypatch.setattr(psutil, "boot_time", lambda: stepped)
    monkeypatch.setattr(psutil.Process, "create_time", lambda self: _real_create_time(self) + 22)
    assert manager.process("sleeper") is not None
    assert manager.stop("sleeper", timeout=5)
    assert not started.is_running()


def test_a_process_that_dies_at_startup_reports_its_log(tmp_path: Path) -> None:
    manager = ProcessManager(tmp_path / "run", tmp_path / "logs")
    with pytest.raises(StartupError, match="crasher exited during startup") as error:
        manager.start(spec("crasher", "print('bad config: no port'); raise SystemExit(3)", False))
    assert "bad config: no port" in str(error.value)


def test_a_process_that_never_gets_healthy_times_out(tmp_path: Path) -> None:
    manager = ProcessManager(tmp_path / "run", tmp_path / "logs")
    with pytest.raises(StartupError, match="did not become healthy within 1s"):
        manager.start(spec("stuck", "import time; time.sleep(30)", healthy=False, timeout=1))
    assert manager.stop("stuck", timeout=5)


def test_port_is_free() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        taken = sock.getsockname()[1]
        assert not port_is_free(taken)
