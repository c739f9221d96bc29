"""Backfills at the API's grain: one range call per pair and block, whatever the runs.

A fake CoinGecko answers `/market_chart/range` as the docs say the real one does for a past day
(hourly points, off the grid, at its automatic granularity) and records every call. The backfill
is Airflow's: one run per minute of the day, three at a time.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from memory_s3 import MemoryS3

from lakehouse.collect import HistoryUnavailable
from lakehouse.raw_zone import ApiResponse, DataInterval, RawZoneWriter
from lakehouse.raw_zone_claims import STALE_AFTER, Block, BlockClaims, Claim, claim_key
from lakehouse.sources.coingecko.collect import collect_coingecko
from lakehouse.sources.coingecko.history import HistoryTerms
from lakehouse.sources.coingecko.planner import CoinGeckoSelection
from lakehouse.sources.http import ApiError

NOW = datetime(2026, 11, 28, 9, 30, 12, tzinfo=UTC)
DAY = datetime(2026, 11, 25, tzinfo=UTC)  # older than one day: served hourly
PAIRS = CoinGeckoSelection(("bitcoin", "ethereum", "solana"), ("usd", "eur"), 1)


def hourly_points(coin: str, currency: str, start: datetime, end: datetime) -> list[list[float]]:
    """The API's hourly points of [start, end]: a few seconds past each hour, not on the grid."""
    first = int(start.timestamp()) // 3600 * 3600
    seconds = range(first + 17, int(end.timestamp()), 3600)
    return [[s * 1000, float(len(coin) * 1000 + len(currency) + s % 86400 / 3600)] for s in seconds]


class HourlyCoinGecko:
    """Answers every range with hourly points, as CoinGecko does for a day older than one day."""

    history = HistoryTerms.of("demo")

    def __init__(self, fail: int = 0) -> None:
        self.calls: list[tuple[str, str, datetime, datetime]] = []
        self.fail = fail
        self._lock = threading.Lock()

    def simple_price(self, ids: Sequence[str], vs_currencies: Sequence[str]) -> ApiResponse:
        raise AssertionError("a backfill asks for history only")

    def coins_markets(self, vs_currency: str, per_page: int, page: int) -> ApiResponse:
        raise AssertionError("a backfill asks for history only")

    def market_chart_range(
        self, coin_id: str, vs_currency: str, start: datetime, end: datetime
    ) -> ApiResponse:
        with self._lock:
            self.calls.append((coin_id, vs_currency, start, end))
            if self.fail:
                self.fail -= 1
                raise ApiError("coingecko", "market_chart_range", 500, "boom")
        prices = hourly_points(coin_id, vs_currency, start, end)
        body = {"prices": prices, "market_caps": prices, "total_volumes": prices}
        params = {
            "id": coin_id,
            "vs_currency": vs_currency,
            "from": str(int(start.timestamp())),
            "to": str(int(end.timestamp())),
        }
        url = f"http://cg/coins/{coin_id}/market_chart/range"
        return ApiResponse(
            "coingecko", "market_chart_range", url, params, 200, json.dumps(body).encode(), NOW
        )


def minute(i: int, day: datetime = DAY) -> DataInterval:
    return DataInterval(day + timedelta(minutes=i), day + timedelta(minutes=i + 1))


def backfill(api: HourlyCoinGecko, s3: MemoryS3, minutes: range, slots: int = 3) -> list[object]:
    writer = RawZoneWriter(s3, "lake")

    def run(i: int) -> object:
        return collect_coingecko(
            api, writer, PAIRS, interval=minute(i), run_id=f"backfill__{i}", mode="history",
            now=NOW,
        )  # fmt: skip

    with ThreadPoolExecutor(slots) as pool:
        return list(pool.map(run, minutes))


def test_a_one_day_backfill_makes_one_call_per_pair_and_lands_its_hourly_points() -> None:
    api, s3 = HourlyCoinGecko(), MemoryS3()

    backfill(api, s3, range(24 * 60))

    assert len(api.calls) == 6
    end = DAY + timedelta(days=1)
    assert sorted(api.calls) == sorted(
        (coin, currency, DAY, end) for coin in PAIRS.coins for currency in PAIRS.currencies
    )
    objects = s3.envelopes()
    assert len(objects) == 6
    for envelope in objects:
        coin, currency = (
            envelope["request"]["params"]["id"],
            envelope["request"]["params"]["vs_currency"],
        )
        assert envelope["interval_start"] == "2026-11-25T00:00:00.000Z"
        assert envelope["interval_end"] == "2026-11-26T00:00:00.000Z"
        assert envelope["payload"]["prices"] == hourly_points(coin, currency, DAY, end)
        assert len(envelope["payload"]["prices"]) == 24


def test_the_other_runs_of_the_block_land_nothing_and_name_the_object_that_covers_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    api, s3 = HourlyCoinGecko(), MemoryS3()
    first = backfill(api, s3, range(1), slots=1)[0]
    caplog.set_level(logging.INFO, logger="lakehouse")

    later = collect_coingecko(
        api, RawZoneWriter(s3, "lake"), PAIRS, interval=minute(600), run_id="backfill__600",
        mode="history", now=NOW,
    )  # fmt: skip

    assert later.results == [] and len(api.calls) == 6
    landed = first.keys  # type: ignore[attr-defined]
    assert sorted(later.covered) == sorted(landed)
    btc_usd = next(k for k in landed if "bitcoin" in s3.objects[k].decode()[:400]
                   and '"vs_currency":"usd"' in s3.objects[k].decode()[:400])  # fmt: skip
    assert btc_usd.startswith("raw/coingecko/market_chart_range/date=2026-11-25/hour=00/")
    assert f"covered by {btc_usd} [id=bitcoin vs_currency=usd]" in caplog.text


def test_a_failed_block_fetch_releases_its_claim_so_the_next_run_fetches_it() -> None:
    api, s3 = HourlyCoinGecko(fail=1), MemoryS3()

    with pytest.raises(ApiError):
        backfill(api, s3, range(1), slots=1)
    backfill(api, s3, range(1, 2), slots=1)

    assert len(api.calls) == 7  # the failed one, then each pair once
    assert len(s3.envelopes()) == 6


def test_a_backfill_beyond_the_demo_plans_year_fails_the_first_run_before_any_call() -> None:
    api, s3 = HourlyCoinGecko(), MemoryS3()
    old = minute(0, DAY - timedelta(days=400))

    with pytest.raises(HistoryUnavailable, match=r"plan 'demo' serves 365 days of history"):
        collect_coingecko(
            api, RawZoneWriter(s3, "lake"), PAIRS, interval=old, run_id="r", mode="history",
            now=NOW,
        )  # fmt: skip

    assert api.calls == [] and s3.objects == {}


# --- claims ---------------------------------------------------------------------------------------

BLOCK = Block("coingecko", "market_chart_range", "bitcoin_usd", DAY, DAY + timedelta(days=1))


def test_the_claim_lives_outside_the_raw_zone_the_stream_reads() -> None:
    assert claim_key(BLOCK) == (
        "_claims/coingecko/market_chart_range/date=2026-11-25/"
        "20261125T000000Z_20261126T000000Z_bitcoin_usd.json"
    )


def test_one_run_holds_a_block_its_retry_too_and_a_stale_claim_is_taken_over() -> None:
    claims, key = BlockClaims(MemoryS3(), "lake"), claim_key(BLOCK)

    assert claims.take(key, "run-a", NOW) is None
    assert claims.take(key, "run-a", NOW) is None  # its retry
    assert claims.take(key, "run-b", NOW + timedelta(minutes=1)) == Claim("run-a", NOW)
    assert claims.take(key, "run-c", NOW + STALE_AFTER + timedelta(seconds=1)) is None


def test_a_landed_claim_covers_every_later_run_whatever_its_age() -> None:
    claims, key = BlockClaims(MemoryS3(), "lake"), claim_key(BLOCK)
    claims.take(key, "run-a", NOW)
    claims.landed(key, "run-a", NOW, ("raw/x.json",))

    held = claims.take(key, "run-b", NOW + timedelta(days=30))

    assert held is not None and held.keys == ("raw/x.json",)
