"""A backfill of a past hour, as Airflow runs it (one task run per minute interval), into MinIO.

Each run calls the same function the collect DAGs' tasks call (`run_collection`) against the
simulator (clock fixed at 2024-03-25 08:45:37 UTC), so the hour 07:00-08:00 is history.
Checks: 60 intervals of `mode: history` envelopes whose values are the simulator's, and a retried
run writes no second object. `airflow backfill create` itself needs the
whole stack and is tested end to end elsewhere.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lakehouse.collect import run_collection
from lakehouse.config import SimulatorSettings
from lakehouse.raw_zone import DataInterval, RawZoneWriter
from lakehouse.simulator import market, sensors
from lakehouse.sources import coingecko, smartcitizen
from lakehouse.sources.coingecko.client import CoinGeckoHttpClient
from lakehouse.sources.coingecko.planner import CoinGeckoSelection
from lakehouse.sources.limiter import CallLimiter
from lakehouse.sources.smartcitizen.client import SmartCitizenHttpClient
from lakehouse.sources.smartcitizen.planner import SmartCitizenSelection

pytestmark = pytest.mark.integration

# One price point per minute from market_chart_range, which no real plan serves (CoinGecko's grain
# is 5-minutely within the last day, hourly beyond): the explicit minutely option, until backfills
# fetch at the API's grain. No per-minute limits: this test is not about them (conftest.UNLIMITED).
SIMULATOR_SETTINGS = SimulatorSettings(
    history="minutely", coingecko_rate_limit=0, smartcitizen_rate_limit=0
)

HOUR = datetime(2024, 3, 25, 7, 0, tzinfo=UTC)
INTERVALS = [
    DataInterval(HOUR + timedelta(minutes=i), HOUR + timedelta(minutes=i + 1)) for i in range(60)
]
COINS = CoinGeckoSelection(("bitcoin", "ethereum"), ("usd",), 100)
DEVICE = 13006
CHARTS = "raw/coingecko/market_chart_range/date=2024-03-25/hour=07/"
READINGS = "raw/smartcitizen/readings/date=2024-03-25/hour=07/"


def run_id(interval: DataInterval) -> str:
    return f"backfill__{interval.start.isoformat()}"


def stored(s3: Any, bucket: str, prefix: str) -> dict[str, dict[str, Any]]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
    with ThreadPoolExecutor(8) as pool:
        bodies = pool.map(lambda key: s3.get_object(Bucket=bucket, Key=key)["Body"].read(), keys)
        return {key: json.loads(body) for key, body in zip(keys, bodies, strict=True)}


def in_pool(task: Callable[[DataInterval], Any], slots: int) -> list[Any]:
    """Runs `task` per interval with `slots` at a time, as the API's Airflow pool would."""
    with ThreadPoolExecutor(slots) as pool:
        return list(pool.map(task, INTERVALS))


def minute_of(envelope: dict[str, Any]) -> int:
    return int(datetime.fromisoformat(envelope["interval_start"]).timestamp()) // 60


def test_a_past_hour_of_coingecko_lands_60_intervals_of_history(
    minio: Any, simulator: Any, sim_now: datetime
) -> None:
    s3 = minio.client()
    writer = RawZoneWriter(s3, minio.lake.bucket)

    def connect(limiter: CallLimiter) -> CoinGeckoHttpClient:
        # In Airflow the shared limiter paces the calls; here run_collection's default: none.
        return CoinGeckoHttpClient(simulator.coingecko_url, limiter=limiter)

    def task(interval: DataInterval) -> Any:
        return run_collection(
            coingecko.SOURCE,
            connect,
            writer,
            COINS,
            interval=interval,
            run_id=run_id(interval),
            now=sim_now,
            parts=("prices", "markets"),
        )

    for outcome in in_pool(task, slots=2):
        assert outcome.mode == "history" and all(r.created for r in outcome.results)

    objects = stored(s3, minio.lake.bucket, CHARTS)
    assert len(objects) == 60 * 2
    assert not stored(s3, minio.lake.bucket, "raw/coingecko/coins_markets/date=2024-03-25/")
    per_interval: dict[int, set[str]] = defaultdict(set)
    for envelope in objects.values():
        assert envelope["mode"] == "history"
        minute = minute_of(envelope)
        coin = envelope["request"]["params"]["id"]
        per_interval[minute].add(coin)
        assert envelope["run_id"] == f"backfill__{envelope['interval_start'][:19]}+00:00"
        assert envelope["payload"]["prices"] == [
            [minute * 60_000, market.price(coin, "usd", minute)]
        ]
        assert envelope["payload"]["market_caps"] == [
            [minute * 60_000, market.market_cap(coin, "usd", minute)]
        ]
    assert sorted(per_interval) == [int(i.start.timestamp()) // 60 for i in INTERVALS]
    assert all(coins == {"bitcoin", "ethereum"} for coins in per_interval.values())

    # A retried task run (same interval, same bytes): no second object.
    retry = run_collection(
        coingecko.SOURCE,
        connect,
        writer,
        COINS,
        interval=INTERVALS[17],
        run_id=run_id(INTERVALS[17]),
        now=sim_now + timedelta(minutes=5),
    )
    assert [r.created for r in retry.results] == [False, False]
    assert len(stored(s3, minio.lake.bucket, CHARTS)) == 60 * 2


def test_a_past_hour_of_smartcitizen_lands_60_intervals_of_readings(
    minio: Any, simulator: Any, sim_now: datetime
) -> None:
    s3 = minio.client()
    writer = RawZoneWriter(s3, minio.lake.bucket)
    selection = SmartCitizenSelection((DEVICE,), world_map=True)

    def connect(limiter: CallLimiter) -> SmartCitizenHttpClient:
        return SmartCitizenHttpClient(f"{simulator.base_url}/v0", limiter=limiter)

    def task(interval: DataInterval) -> Any:
        return run_collection(
            smartcitizen.SOURCE,
            connect,
            writer,
            selection,
            interval=interval,
            run_id=run_id(interval),
            now=sim_now,
        )

    for outcome in in_pool(task, slots=4):
        assert outcome.mode == "history"
        assert outcome.skipped == ("smartcitizen /devices/world_map has no history",)

    objects = stored(s3, minio.lake.bucket, READINGS)
    device_sensors = sensors.DEVICES[DEVICE].sensors
    assert len(objects) == 60 * len(device_sensors)
    assert not stored(s3, minio.lake.bucket, "raw/smartcitizen/device/date=2024-03-25/")
    seen: dict[int, set[int]] = defaultdict(set)
    for envelope in objects.values():
        minute = minute_of(envelope)
        sensor = int(envelope["request"]["params"]["sensor_id"])
        seen[minute].add(sensor)
        assert envelope["mode"] == "history"
        assert envelope["payload"]["readings"] == [
            [
                sensors.iso(sensors.reading_second(DEVICE, minute)),
                sensors.value(DEVICE, sensor, minute),
            ]
        ]
    assert len(seen) == 60
    assert all(found == set(device_sensors) for found in seen.values())

    retry = run_collection(
        smartcitizen.SOURCE,
        connect,
        writer,
        selection,
        interval=INTERVALS[0],
        run_id=run_id(INTERVALS[0]),
        now=sim_now,
    )
    assert not any(r.created for r in retry.results)
    assert len(stored(s3, minio.lake.bucket, READINGS)) == 60 * len(device_sensors)


def test_the_cli_collects_with_the_same_code(minio: Any, simulator: Any, tmp_path: Any) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "LAKEHOUSE_HOME": str(tmp_path),
        "LAKEHOUSE_S3_ENDPOINT": minio.lake.endpoint_url,
        "LAKEHOUSE_S3_ACCESS_KEY": minio.lake.access_key,
        "LAKEHOUSE_S3_SECRET_KEY": minio.lake.secret_key,
        "LAKEHOUSE_BUCKET": minio.lake.bucket,
        "COINGECKO_BASE_URL": simulator.coingecko_url,
        "COINGECKO_API_KEY": "CG-cli-secret",
        "COINGECKO_COINS": "solana",
        "COINGECKO_CURRENCIES": "chf",
        "COINGECKO_RATE_LIMIT_PER_MINUTE": "6000",
        "SMARTCITIZEN_BASE_URL": f"{simulator.base_url}/v0",
        "SMARTCITIZEN_DEVICES": "1616",
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "lakehouse.cli", "collect", *args],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    history = cli("coingecko", "--interval-start", "2024-03-25T06:30", "--history")
    live = cli("smartcitizen")

    assert history.returncode == 0, history.stderr
    assert history.stdout.splitlines()[0].startswith(
        "wrote s3://lake/raw/coingecko/market_chart_range/date=2024-03-25/hour=06/20240325T063000Z_"
    )
    assert history.stdout.splitlines()[1:] == [
        "skipped: coingecko /coins/markets has no history: a backfill lands prices only"
    ]
    assert "CG-cli-secret" not in history.stdout + history.stderr
    assert live.returncode == 0, live.stderr
    assert live.stdout.startswith("wrote s3://lake/raw/smartcitizen/device/")
    assert "skipped: smartcitizen world map is not enabled for this run" in live.stdout
