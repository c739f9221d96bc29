"""Healing: the minutes no live run collected are fetched from history at the API's grain, once,
and every minute is then complete (a live object, or a record of the history that covers it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from memory_s3 import MemoryS3

from lakehouse.healing import HEALED_PREFIX, heal, part_minutes, spans
from lakehouse.raw_zone import RawZoneWriter
from lakehouse.sources import coingecko
from lakehouse.sources.coingecko.client import CoinGeckoHttpClient
from lakehouse.sources.coingecko.planner import CoinGeckoSelection
from lakehouse.sources.coingecko.settings import CoinGeckoSettings

SETTINGS = CoinGeckoSettings.from_env({"COINGECKO_MARKETS_EVERY_MINUTES": "5"})
SELECTION = CoinGeckoSelection.from_settings(SETTINGS)
GAP = [datetime(2024, 3, 25, 8, m, tzinfo=UTC) for m in range(0, 10)]
"""The scheduler was down 08:00-08:09: these minutes have no live object."""


def land_live_minutes(s3: MemoryS3, start: datetime, end: datetime) -> None:
    minute = start
    while minute < end:
        if minute not in GAP:
            for endpoint in ("simple_price",) + (
                ("coins_markets",) if minute.minute % 5 == 0 else ()
            ):
                key = (
                    f"raw/coingecko/{endpoint}/date={minute:%Y-%m-%d}/hour={minute:%H}/"
                    f"{minute:%Y%m%dT%H%M%SZ}_0123456789abcdef.json"
                )
                s3.put_object(Bucket="lake", Key=key, Body=b"{}")
        minute += timedelta(minutes=1)


def api_calls(simulator: Any) -> list[str]:
    return [seen["path"] for seen in simulator.seen if not seen["path"].startswith("/_simulator")]


def run_heal(simulator: Any, s3: MemoryS3, now: datetime, tmp_path: Path) -> Any:
    client = CoinGeckoHttpClient(simulator.coingecko_url, api_key="CG-heal", plan="demo")
    return heal(
        coingecko.SOURCE, lambda _limiter: client, RawZoneWriter(s3, "lake"), SELECTION,
        SETTINGS, now=now, hours=1, cache_dir=tmp_path,
    )  # fmt: skip


def test_missed_minutes_are_healed_from_history_once_and_are_then_complete(
    simulator: Any, sim_now: datetime, tmp_path: Path
) -> None:
    s3 = MemoryS3()
    minute_now = sim_now.replace(second=0)
    land_live_minutes(s3, minute_now - timedelta(hours=2), minute_now + timedelta(minutes=10))
    simulator.seen.clear()

    report = run_heal(simulator, s3, sim_now, tmp_path)

    ranges = [path for path in api_calls(simulator) if path.endswith("/market_chart/range")]
    assert len(ranges) == 6  # one call per coin/currency pair for the hour block at 5-min grain
    assert report.missing == {"prices": 10, "markets": 2}
    assert report.healed == {"prices": 10}
    assert len(report.keys) == 6
    assert all("/coingecko/market_chart_range/" in key for key in report.keys)
    healed = sorted(k for k in s3.objects if k.startswith(f"{HEALED_PREFIX}/coingecko/prices/"))
    assert [k.rsplit("/", 1)[-1] for k in healed] == [f"{m:%Y%m%dT%H%M%SZ}.json" for m in GAP]

    window = (sim_now.replace(second=0) - timedelta(minutes=70), sim_now.replace(second=0))
    prices, markets = part_minutes(s3, "lake", coingecko.SOURCE, SETTINGS, window)
    assert prices.missing == [] and not markets.heals and len(markets.missing) == 2
    simulator.seen.clear()
    again = run_heal(simulator, s3, sim_now + timedelta(minutes=5), tmp_path)
    assert again.missing["prices"] == 0 and again.healed == {}
    assert [p for p in api_calls(simulator) if "market_chart" in p] == []  # never asks twice


def test_history_the_plan_cannot_serve_is_recorded_and_not_asked_again(
    simulator: Any, sim_now: datetime, tmp_path: Path
) -> None:
    """A plan serving one day of history: the missed minutes of the day before are recorded as
    beyond it, those of today are healed, and a second heal asks for neither."""
    s3 = MemoryS3()
    land_live_minutes(
        s3, datetime(2024, 3, 24, 0, 0, tzinfo=UTC), datetime(2024, 3, 24, 0, 1, tzinfo=UTC)
    )
    client = CoinGeckoHttpClient(simulator.coingecko_url, api_key="CG-x", history_days=1)

    def run(now: datetime) -> Any:
        return heal(
            coingecko.SOURCE, lambda _limiter: client, RawZoneWriter(s3, "lake"), SELECTION,
            SETTINGS, now=now, hours=26, cache_dir=tmp_path,
        )  # fmt: skip

    report = run(sim_now)  # from 2024-03-24 06:42; the plan serves from 2024-03-24 08:45:37
    # Whole hours from the window's start to the plan's edge are beyond it: 18 + 60 + 60 minutes.
    assert report.unavailable == {"prices": 138}
    assert report.healed == {"prices": 26 * 60 - 138}
    records = {
        k.rsplit("/", 1)[-1][:11]: s3.objects[k] for k in s3.objects if k.startswith(HEALED_PREFIX)
    }
    assert all(b"serves 1 day" in records[f"20240324T{h:02d}"] for h in (6, 7, 8))
    assert b"keys" in records["20240324T09"]
    simulator.seen.clear()
    assert run(sim_now).missing["prices"] == 0
    assert api_calls(simulator) == []


def test_minutes_before_the_first_live_object_are_not_due(
    simulator: Any, sim_now: datetime, tmp_path: Path
) -> None:
    """Healing fills gaps in what the lake collected; it does not backfill the time before."""
    s3 = MemoryS3()
    minute_now = sim_now.replace(second=0)
    land_live_minutes(s3, minute_now - timedelta(minutes=20), minute_now)
    simulator.seen.clear()
    report = run_heal(simulator, s3, sim_now, tmp_path)
    assert report.missing == {"prices": 0, "markets": 0}
    assert api_calls(simulator) == []


def test_consecutive_minutes_form_one_span_and_distant_ones_another() -> None:
    t = datetime(2024, 3, 25, 8, 0, tzinfo=UTC)
    minutes = [t, t + timedelta(minutes=1), t + timedelta(minutes=5), t + timedelta(hours=3)]
    assert spans(minutes) == [minutes[:3], minutes[3:]]
