"""Fixtures shared by unit and integration tests: the API simulator on a fixed clock."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from lakehouse.simulator.app import create_app

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


@pytest.fixture(scope="module")
def simulator() -> Iterator[RunningSimulator]:
    import uvicorn

    app = create_app(clock=fixed_clock(SIM_NOW))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    running = RunningSimulator(base_url=f"http://127.0.0.1:{port}")

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

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the simulator did not start")
        time.sleep(0.01)
    try:
        yield running
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
