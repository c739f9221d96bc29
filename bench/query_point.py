"""Benchmark: a point query on a week of silver.coin_prices through `lakehouse query`.

Target (DESIGN.md): <= 1 s. Builds a week of per-minute prices (written hourly, as the stream does)
into a local Delta table, then times the CLI end to end (process start included) and the query
alone, and prints medians.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
from deltalake import write_deltalake

from lakehouse.query import open_lake, run_query
from lakehouse.simulator import market

COINS = ("bitcoin", "ethereum", "solana")
CURRENCIES = ("usd", "eur")
START = datetime(2026, 11, 1, tzinfo=UTC)
HOURS = 7 * 24
RUNS = 7


def build_week(lake: Path) -> int:
    rows = 0
    for hour in range(HOURS):
        records = []
        for minute_offset in range(60):
            ts = START + timedelta(hours=hour, minutes=minute_offset)
            minute = int(ts.timestamp()) // 60
            for coin in COINS:
                for cur in CURRENCIES:
                    records.append(
                        {"coin_id": coin, "vs_currency": cur, "price_ts": ts,
                         "price": market.price(coin, cur, minute), "mode": "live"}
                    )  # fmt: skip
        write_deltalake(
            str(lake / "silver" / "coin_prices"), pa.Table.from_pylist(records), mode="append"
        )
        rows += len(records)
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        lake = Path(tmp)
        started = time.perf_counter()
        rows = build_week(lake)
        built = time.perf_counter() - started
        print(f"built silver.coin_prices: {rows} rows in {HOURS} commits ({built:.1f}s)")
        sql = (
            "select price from silver.coin_prices where coin_id = 'ethereum' "
            "and vs_currency = 'eur' and price_ts = timestamptz '2026-11-04 13:37:00+00'"
        )
        cli, inproc = [], []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            out = subprocess.run(
                [str(Path(sys.executable).parent / "lakehouse"), "query", "--lake", str(lake), sql],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            cli.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            _, result = run_query(sql, open_lake(str(lake)))
            inproc.append(time.perf_counter() - t0)
        assert len(result) == 1, out.stdout
        print(
            "point query via `lakehouse query` (process start included): "
            f"median {statistics.median(cli):.3f}s over {RUNS} runs (target <= 1 s)"
        )
        print(f"point query in process (open + query): median {statistics.median(inproc):.3f}s")


if __name__ == "__main__":
    main()
