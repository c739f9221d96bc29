"""The shared call limiter: one sliding window per source in a file, across processes."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from lakehouse.sources.http import RateLimited
from lakehouse.sources.limiter import SlidingWindowLimiter, limit_file


class FakeClock:
    """One wall clock for several limiters ("processes"); sleeping moves it on."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def limiter(
    path: Path, clock: FakeClock, limit: int = 3, reserved: int = 0, max_wait: float = 90.0
) -> SlidingWindowLimiter:
    return SlidingWindowLimiter(
        "coingecko", path, limit, reserved=reserved, max_wait=max_wait,
        clock=clock.time, sleep=clock.sleep,
    )  # fmt: skip


def test_two_processes_sharing_one_file_share_one_limit(tmp_path: Path) -> None:
    clock = FakeClock()
    path = limit_file(tmp_path / "limits", "coingecko")
    live, backfill = limiter(path, clock), limiter(path, clock)

    backfill.acquire("market_chart_range")
    clock.now += 10
    backfill.acquire("market_chart_range")
    live.acquire("simple_price")  # the third call of the window: at once
    assert clock.sleeps == []

    clock.now += 5  # t = 15 s after the first call
    live.acquire("coins_markets")  # the window is full: waits until the first call leaves it
    assert clock.sleeps == [45.0]
    assert path.is_file()


def test_history_leaves_the_reserved_slots_to_live_calls(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "coingecko.json"
    live = limiter(path, clock, limit=4, reserved=2)
    history = live.for_history()

    history.acquire("market_chart_range")
    history.acquire("market_chart_range")
    clock.now += 1
    history.acquire("market_chart_range")  # only 2 of 4 slots are the backfill's: it waits
    assert clock.sleeps == [59.0]
    live.acquire("simple_price")  # the window holds 1 call (t=60 took a slot): live goes at once
    live.acquire("coins_markets")
    assert clock.sleeps == [59.0]


def test_a_wait_longer_than_the_maximum_fails_the_call_for_a_later_retry(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "coingecko.json"
    first = limiter(path, clock, limit=1, max_wait=30.0)
    first.acquire("simple_price")
    clock.now += 1

    with pytest.raises(RateLimited, match="limit of 1 calls per 60 s is used up"):
        limiter(path, clock, limit=1, max_wait=30.0).acquire("coins_markets")
    assert clock.sleeps == []  # it did not sleep 59 s only to fail


def test_an_unreadable_state_file_starts_a_new_window(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "coingecko.json"
    path.write_text('{"calls": [1000.0, ')  # a torn write
    limiter(path, clock, limit=1).acquire("simple_price")
    assert clock.sleeps == []


def test_the_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="positive"):
        SlidingWindowLimiter("x", Path("x.json"), 0)
    with pytest.raises(ValueError, match="reserved"):
        SlidingWindowLimiter("x", Path("x.json"), 2, reserved=2)


LIMIT, WINDOW, CALLS_PER_PROCESS, PROCESSES = 5, 1.0, 4, 4


def _calls(path: str, history: bool, out: multiprocessing.Queue[float]) -> None:
    shared = SlidingWindowLimiter("sim", Path(path), LIMIT, window=WINDOW, reserved=1)
    mine = shared.for_history() if history else shared
    for _ in range(CALLS_PER_PROCESS):
        mine.acquire("endpoint")
        out.put(time.time())


def test_parallel_processes_never_exceed_the_limit_in_any_window(tmp_path: Path) -> None:
    """Real processes, as LocalExecutor runs tasks: 16 calls, at most 5 in any 1-s window."""
    context = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue[float] = context.Queue()
    path = str(tmp_path / "sim.json")
    workers = [
        context.Process(target=_calls, args=(path, index % 2 == 0, out))
        for index in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    stamps = sorted(out.get(timeout=60) for _ in range(PROCESSES * CALLS_PER_PROCESS))
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0

    # Each stamp is taken just after its slot, so a window may look a hair wider: allow 50 ms.
    for index, start in enumerate(stamps):
        in_window = [t for t in stamps[index:] if t < start + WINDOW - 0.05]
        assert len(in_window) <= LIMIT, (start, in_window)
    assert stamps[-1] - stamps[0] >= 2 * WINDOW  # 16 calls at 5 a window need 3 windows
