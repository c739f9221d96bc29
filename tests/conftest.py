"""Fixtures shared by unit and integration tests: the API simulator on a fixed clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from _pytest.terminal import TerminalReporter
from fault_table import FAULT_ROWS, FaultRow, RecordFault, fault_table

from lakehouse.config import SimulatorSettings
from lakehouse.simulator.app import create_app, serve_in_thread

# 08:45:37 UTC lies in the minute that starts at 1711356300, the `last_updated_at` of the CoinGecko
# docs example in ../shared/samples.
SIM_NOW = datetime(2024, 3, 25, 8, 45, 37, tzinfo=UTC)


def fixed_clock(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


@pytest.fixture(scope="session")
def sim_now() -> datetime:
    """The simulator's fixed clock (08:45:37 UTC, in the minute starting at 1711356300)."""
    return SIM_NOW


@dataclass
class RunningSimulator:
    """The simulator app served by uvicorn on 127.0.0.1 in a background thread."""

    base_url: str
    seen: list[dict[str, Any]] = field(default_factory=list)
    """One entry per request that reached the app: its path, query string and headers."""

    @property
    def coingecko_url(self) -> str:
        return f"{self.base_url}/api/v3"


UNLIMITED = SimulatorSettings(coingecko_rate_limit=0, smartcitizen_rate_limit=0)
"""The simulator with the real APIs' rules but no per-minute limits: for tests that are not about
limits, whose calls on a fixed clock would otherwise all fall in one minute (the limits' own tests
are tests/unit/test_simulator_rate_limits.py)."""


@pytest.fixture(scope="module")
def simulator(request: pytest.FixtureRequest) -> Iterator[RunningSimulator]:
    """The served simulator; a test module may set `SIMULATOR_SETTINGS` to change its rules."""
    settings = getattr(request.module, "SIMULATOR_SETTINGS", UNLIMITED)
    app = create_app(clock=fixed_clock(SIM_NOW), settings=settings)
    running = RunningSimulator(base_url="")

    @app.middleware("http")
    async def record(request: Any, call_next: Any) -> Any:
        running.seen.append(
            {
                "path": request.url.path,
                "query": request.url.query,
                "headers": dict(request.headers),
            }
        )
        return await call_next(request)

    with serve_in_thread(app) as base_url:
        running.base_url = base_url
        yield running


@pytest.fixture(scope="session")
def record_fault() -> RecordFault:
    """Adds a row to the fault suite's table, printed once at the end of the session."""
    return lambda *row: FAULT_ROWS.append(FaultRow(*row))


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    if FAULT_ROWS:
        terminalreporter.write_line("")
        for line in fault_table(FAULT_ROWS):
            terminalreporter.write_line(line)
