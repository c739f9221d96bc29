"""The raw-zone writer against a real MinIO: conditional PUTs make retries no-ops."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lakehouse.raw_zone import DataInterval, RawZoneWriter
from lakehouse.sources.coingecko.client import CoinGeckoHttpClient
from lakehouse.sources.coingecko.collect import collect_coingecko_prices
from lakehouse.sources.http import ApiError

pytestmark = pytest.mark.integration

INTERVAL = DataInterval(
    datetime(2026, 11, 25, 12, 0, tzinfo=UTC), datetime(2026, 11, 25, 12, 1, tzinfo=UTC)
)


def test_retry_with_same_bytes_writes_no_second_object(minio: Any, simulator: Any) -> None:
    s3 = minio.client()
    writer = RawZoneWriter(s3, minio.lake.bucket)
    first_clock = datetime(2026, 11, 25, 12, 1, 5, tzinfo=UTC)
    retry_clock = first_clock + timedelta(seconds=20)
    first = collect_coingecko_prices(
        CoinGeckoHttpClient(simulator.coingecko_url, clock=lambda: first_clock),
        writer, coins=["bitcoin"], currencies=["usd"], interval=INTERVAL, run_id="r1",
    )  # fmt: skip
    retry = collect_coingecko_prices(
        CoinGeckoHttpClient(simulator.coingecko_url, clock=lambda: retry_clock),
        writer, coins=["bitcoin"], currencies=["usd"], interval=INTERVAL, run_id="r1",
    )  # fmt: skip

    assert first[0].created and not retry[0].created
    assert first[0].key == retry[0].key
    prefix = "raw/coingecko/simple_price/date=2026-11-25/hour=12/"
    listed = s3.list_objects_v2(Bucket=minio.lake.bucket, Prefix=prefix)["Contents"]
    assert [obj["Key"] for obj in listed] == [first[0].key]
    stored = s3.get_object(Bucket=minio.lake.bucket, Key=first[0].key)["Body"].read().decode()
    assert stored.count("\n") == 1
    assert json.loads(stored)["fetched_at"] == "2026-11-25T12:01:05.000Z"  # the first one kept


def test_failed_fetch_lands_nothing(minio: Any) -> None:
    s3 = minio.client()
    writer = RawZoneWriter(s3, minio.lake.bucket)
    unreachable = CoinGeckoHttpClient("http://127.0.0.1:9/api/v3", timeout=1)
    interval = DataInterval(INTERVAL.start - timedelta(days=1), INTERVAL.end - timedelta(days=1))
    with pytest.raises(ApiError, match="coingecko simple_price: HTTP -"):
        collect_coingecko_prices(
            unreachable, writer, coins=["bitcoin"], currencies=["usd"], interval=interval,
            run_id="r2",
        )  # fmt: skip
    listed = s3.list_objects_v2(
        Bucket=minio.lake.bucket, Prefix="raw/coingecko/simple_price/date=2026-11-24/"
    )
    assert listed.get("KeyCount", 0) == 0
