"""Background processes owned by the local stack, tracked by pid files, stopped by process group.

Only what this module started is ever signalled: a pid file records the pid and when the process
started, so a recycled pid of someone else's process is never mistaken for ours. The start is
kept in seconds after boot, which never moves: psutil's `create_time()` is wall-clock time and
shifts whenever the system clock is stepped (NTP, a resumed VM), which once made `lakehouse down`
take a whole running stack for stale pid files and leave it running.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

HealthCheck = Callable[[], bool]


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """A health check for parts that answer HTTP: any failure to get a 200 counts as not yet up."""
    try:
        return requests.get(url, timeout=timeout).status_code == 200
    except requests.RequestException:
        return False


@dataclass(frozen=True)
class ProcessSpec:
    """How to run one long-lived process of the stack."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    health: HealthCheck
    url: str = ""
    user: str | None = None
    cwd: Path | None = None
    startup_timeout: float = 120.0
    stop_timeout: float = 30.0
    ports: tuple[int, ...] = field(default=())


class StartupError(RuntimeError):
    """A process died or never became healthy; the message points at its log."""


class ProcessManager:
    def __init__(self, run_dir: Path, log_dir: Path) -> None:
        self.run_dir = run_dir
        self.log_dir = log_dir

    def _pid_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def process(self, name: str) -> psutil.Process | None:
        """The live process started under `name`, or None (a stale pid file is removed)."""
        path = self._pid_file(name)
        if not path.exists():
            return None
        try:
            record = json.loads(path.read_text())
            proc = psutil.Process(record["pid"])
            # Pid files written before "after_boot" carry the wall-clock start ("started").
            recorded = record.get("after_boot", record.get("started", 0.0) - psutil.boot_time())
            same = abs(started_after_boot(proc) - recorded) < 1.0
            if same and proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                return proc
        except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError, KeyError):
            pass
        path.unlink(missing_ok=True)
        return None

    def start(self, spec: ProcessSpec) -> psutil.Process:
        """Start `spec` unless it already runs; return once it is healthy."""
        proc = self.process(spec.name)
        if proc is None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self.log_dir.mkdir(parents=True, exist_ok=True)
            with self.log_file(spec.name).open("ab") as log:
                popen = subprocess.Popen(
                    list(spec.argv),
                    env=dict(spec.env),
                    cwd=spec.cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: stopped as a whole
                    user=spec.user,
                )
            proc = psutil.Process(popen.pid)
            record = {"pid": popen.pid, "after_boot": started_after_boot(proc)}
            self._pid_file(spec.name).write_text(json.dumps(record))
        self.wait_healthy(spec, proc)
        return proc

    def wait_healthy(self, spec: ProcessSpec, proc: psutil.Process) -> None:
        deadline = time.monotonic() + spec.startup_timeout
        while time.monotonic() < deadline:
            if not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE:
                raise StartupError(
                    f"{spec.name} exited during startup; see {self.log_file(spec.name)}:\n"
                    + tail(self.log_file(spec.name))
                )
            if spec.health():
                return
            time.sleep(0.5)
        raise StartupError(
            f"{spec.name} did not become healthy within {spec.startup_timeout:.0f}s; "
            f"see {self.log_file(spec.name)}:\n" + tail(self.log_file(spec.name))
        )

    def stop(self, name: str, timeout: float = 30.0) -> bool:
        """SIGTERM the process group and every descendant, SIGKILL what is left after `timeout`."""
        proc = self.process(name)
        if proc is None:
            return False
        family = [proc, *proc.children(recursive=True)]
        _signal_group(proc.pid, signal.SIGTERM)
        for member in family:
            _signal(member, signal.SIGTERM)
        _, alive = psutil.wait_procs(family, timeout=timeout)
        if alive:
            _signal_group(proc.pid, signal.SIGKILL)
            for member in alive:
                _signal(member, signal.SIGKILL)
            psutil.wait_procs(alive, timeout=5)
        self._pid_file(name).unlink(missing_ok=True)
        return True


def started_after_boot(proc: psutil.Process) -> float:
    """When `proc` started, in seconds after boot (both read now, so a clock step cancels out)."""
    return proc.create_time() - psutil.boot_time()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _signal(proc: psutil.Process, sig: signal.Signals) -> None:
    with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
        proc.send_signal(sig)


def tail(path: Path, lines: int = 20) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (the OS picks it)."""
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
