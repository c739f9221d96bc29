"""Fetched means kept: a raw object the lake cannot take waits in the spool and lands later,
under the same key with the same bytes, exactly once."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from memory_s3 import MemoryS3

from lakehouse.collect import run_collection
from lakehouse.raw_zone import DataInterval, RawZoneWriter
from lakehouse.sources import coingecko
from lakehouse.sources.base import Collection
from lakehouse.sources.coingecko.client import CoinGeckoHttpClient
from lakehouse.sources.coingecko.planner import CoinGeckoSelection
from lakehouse.spool import Spool, SpoolFull, lake_unavailable

CG = CoinGeckoSelection(("bitcoin",), ("usd",), 100)


class FlakyS3(MemoryS3):
    """A bucket that is down (refuses connections) or denies access until told otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self.failure: Exception | None = None

    def put_object(self, **kwargs: Any) -> dict[str, Any]:
        if self.failure is not None:
            raise self.failure
        return super().put_object(**kwargs)


DOWN = EndpointConnectionError(endpoint_url="http://127.0.0.1:9000/lake")
DENIED = ClientError(
    {"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}}, "PutObject"
)
UNAVAILABLE = ClientError(
    {"Error": {"Code": "ServiceUnavailable"}, "ResponseMetadata": {"HTTPStatusCode": 503}},
    "PutObject",
)


def collect(writer: RawZoneWriter, simulator: Any, now: datetime, minute: int) -> Collection:
    """One live run of /simple/price for the minute `minute` minutes before `now`'s."""
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=minute)
    client = CoinGeckoHttpClient(simulator.coingecko_url, api_key="CG-test", timeout=5)
    return run_collection(
        coingecko.SOURCE,
        lambda _limiter: client,
        writer,
        CG,
        interval=DataInterval(start, start + timedelta(minutes=1)),
        run_id=f"scheduled__{minute}",
        now=now,
        parts=("prices",),
    )


def test_what_the_lake_cannot_take_is_spooled_and_lands_unchanged_with_the_next_run(
    simulator: Any, sim_now: datetime, tmp_path: Path
) -> None:
    s3 = FlakyS3()
    writer = RawZoneWriter(s3, "lake", Spool(tmp_path / "spool", max_mb=1))
    s3.failure = DOWN
    outage = collect(writer, simulator, sim_now, minute=2)
    [spooled] = outage.results
    assert spooled.spooled and not spooled.created
    assert s3.objects == {}
    kept = (tmp_path / "spool" / spooled.key).read_bytes()

    s3.failure = None
    collect(writer, simulator, sim_now, minute=1)

    assert s3.objects[spooled.key] == kept  # the same key, the same bytes
    assert len(s3.envelopes("raw/coingecko/simple_price/")) == 2
    assert writer.spool is not None and writer.spool.pending() == []


def test_a_misconfigured_lake_fails_loudly_and_still_keeps_the_object(
    simulator: Any, sim_now: datetime, tmp_path: Path
) -> None:
    s3 = FlakyS3()
    writer = RawZoneWriter(s3, "lake", Spool(tmp_path, max_mb=1))
    s3.failure = DENIED
    with pytest.raises(ClientError, match="AccessDenied"):
        collect(writer, simulator, sim_now, minute=1)
    assert writer.spool is not None and len(writer.spool.pending()) == 1
    with pytest.raises(ClientError, match="AccessDenied"):  # waiting cannot fix it: no silence
        writer.land_spooled()
    assert len(writer.spool.pending()) == 1


def test_only_an_unavailable_lake_counts_as_one_to_wait_for() -> None:
    assert lake_unavailable(DOWN) and lake_unavailable(UNAVAILABLE)
    assert not lake_unavailable(DENIED)


def test_a_spooled_object_lands_once_even_when_two_processes_kept_it(tmp_path: Path) -> None:
    s3 = MemoryS3()
    writer = RawZoneWriter(s3, "lake", Spool(tmp_path, max_mb=1))
    assert writer.spool is not None
    key = "raw/coingecko/simple_price/date=2024-03-25/hour=08/20240325T084400Z_ab.json"
    writer.spool.keep(key, b'{"a":1}\n')
    assert writer.land_spooled().landed == [key]
    assert writer.land_spooled().landed == []
    writer.spool.keep(key, b'{"a":1}\n')  # a second task kept it too, before the first landed it
    assert writer.land_spooled().landed == [key]  # the conditional PUT found it: no second write
    assert s3.objects == {key: b'{"a":1}\n'}
    assert s3.puts == 2 and writer.spool.pending() == []


def test_draining_stops_while_the_lake_is_down_and_keeps_the_rest(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_mb=1)
    keys = [f"raw/s/e/date=2024-03-25/hour=08/20240325T08{m:02d}00Z_ab.json" for m in (3, 1, 2)]
    for key in keys:
        spool.keep(key, b"{}\n")
    tried: list[str] = []

    def down(key: str, _: bytes) -> None:
        tried.append(key)
        raise DOWN

    drained = spool.drain(down)
    assert drained.landed == [] and drained.left == 3
    assert tried == [sorted(keys)[0]]  # oldest first, and no hammering of a lake that is down
    assert spool.contents().objects == 3


def test_a_full_spool_refuses_naming_itself_and_its_limit(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_mb=1)
    spool.keep("raw/s/e/date=2024-03-25/hour=08/20240325T080000Z_a.json", b"x" * (2**20 - 10))
    with pytest.raises(SpoolFull, match=r"LAKEHOUSE_SPOOL_MAX_MB=1"):
        spool.keep("raw/s/e/date=2024-03-25/hour=08/20240325T080100Z_b.json", b"y" * 100)
    assert spool.contents().objects == 1


@pytest.mark.parametrize("key", ["../escape.json", "raw/x/notjson.txt"])
def test_only_raw_object_keys_are_spooled(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="not a raw object key"):
        Spool(tmp_path / "spool", max_mb=1).keep(key, b"{}")


def test_the_size_limit_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="LAKEHOUSE_SPOOL_MAX_MB must be a positive size, got 0"):
        Spool(tmp_path, max_mb=0)
