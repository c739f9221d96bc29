"""The streaming job as spark-submit runs it (`--once`, Delta jars, a local lake folder).

Checks what exactly-once means for a user: re-running over the same raw files changes nothing, new
files add rows, and a second response for an already-known price updates it in place.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import stream_runner
from simulated_prices import simple_price_envelope

from lakehouse.catalog import describe_tables
from lakehouse.query import open_lake, run_query
from lakehouse.raw_zone import ApiResponse, DataInterval, Envelope, object_key
from lakehouse.simulator import market

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CURRENCIES = ("usd", "eur")


def land(lake: Path, minute: int, coins: tuple[str, ...]) -> None:
    """Fetch /simple/price from the simulator as of `minute` after T0 and land it in `lake`."""
    envelope = simple_price_envelope(
        T0, minute, coins, CURRENCIES, ("market_cap", "24hr_vol", "24hr_change", "last_updated_at")
    )
    path = lake / object_key(envelope)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(envelope.to_json_line())


def run_job(lake: Path) -> None:
    result = stream_runner.run(lake, "--once")
    assert result.returncode == 0, result.stderr[-4000:]


def silver(lake: Path) -> list[tuple[object, ...]]:
    _, rows = run_query(
        "select coin_id, vs_currency, epoch(price_ts)::bigint, price, fetched_at, "
        "source_file from silver.coin_prices order by all",
        open_lake(str(lake)),
    )
    return rows


def gold_minute_bars(lake: Path) -> list[tuple[object, ...]]:
    """The 1m bars, each with its silver price (null when silver lacks the minute)."""
    _, rows = run_query(
        "select g.coin_id, g.vs_currency, epoch(g.bar_start)::bigint, g.close, s.price "
        "from gold.coin_ohlc g left join silver.coin_prices s on s.coin_id = g.coin_id "
        "and s.vs_currency = g.vs_currency and s.price_ts = g.bar_start where g.bar = '1m' "
        "order by all",
        open_lake(str(lake)),
    )
    return rows


def gold_versions(lake: Path) -> dict[str, int]:
    """Each gold table's Delta version, as `lakehouse tables` reports it."""
    return {
        info.name: info.version
        for info in describe_tables(str(lake))
        if info.name.startswith("gold.")
    }


def test_reruns_add_only_new_prices_and_update_known_ones(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    coins = ("bitcoin", "ethereum")
    for minute in range(3):
        land(lake, minute, coins)
    (lake / "raw" / "coingecko" / "simple_price" / "broken.json").write_text('{"source": "coinge')

    run_job(lake)
    first = silver(lake)
    assert len(first) == 3 * len(coins) * len(CURRENCIES)
    for coin, cur, epoch, price, _, _ in first:
        assert price == market.price(str(coin), str(cur), int(str(epoch)) // 60)

    # Gold was recomputed from silver: a bar for each silver minute, closing at its price.
    bars = gold_minute_bars(lake)
    assert len(bars) == len(first)
    assert all(close == price for *_, close, price in bars), bars
    versions = gold_versions(lake)
    assert len(versions) == 4, versions

    run_job(lake)  # nothing new: nothing changes, gold included
    assert silver(lake) == first
    assert gold_versions(lake) == versions

    # Minute 2 again, for bitcoin only, fetched later: new bytes, a new object, the same keys.
    land(lake, 3, coins)
    later = T0 + timedelta(minutes=2, seconds=40)
    minute_2 = int(T0.timestamp()) // 60 + 2
    quote: dict[str, float] = {cur: market.price("bitcoin", cur, minute_2) for cur in CURRENCIES}
    body = {"bitcoin": {**quote, "last_updated_at": minute_2 * 60}}
    refetch = ApiResponse(
        "coingecko", "simple_price", "http://sim/api/v3/simple/price",
        {"ids": "bitcoin"}, 200, json.dumps(body).encode(), later,
    )  # fmt: skip
    interval = DataInterval(T0 + timedelta(minutes=1), T0 + timedelta(minutes=2))
    envelope = Envelope(refetch, interval, "live", "retry")
    (lake / object_key(envelope)).write_text(envelope.to_json_line())

    run_job(lake)
    rows = silver(lake)
    keys = [(coin, cur, epoch) for coin, cur, epoch, *_ in rows]
    assert len(keys) == len(set(keys)) == 4 * len(coins) * len(CURRENCIES)
    updated = [r for r in rows if r[0] == "bitcoin" and r[2] == minute_2 * 60]
    assert [r[4] for r in updated] == [later, later]
    assert all(str(r[5]).endswith(object_key(envelope).rsplit("/", 1)[1]) for r in updated)

    bars = gold_minute_bars(lake)
    assert len(bars) == len(rows) and all(close == price for *_, close, price in bars), bars

    _, bronze = run_query(
        "select count(*), count(_corrupt_record) from bronze.raw_events", open_lake(str(lake))
    )
    assert bronze == [(6, 1)]  # 5 envelopes and the broken file, each once
