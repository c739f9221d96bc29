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
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
from deltalake import write_deltalake

sys.path.insert(0, str(Path(__file__).resolve().parent))

from figures import Figure

from lakehouse.query import open_lake, run_query
from lakehouse.simulator import market

COINS = ("bitcoin", "ethereum", "solana")
CURRENCIES = ("usd", "eur")
START = datetime(2026, 11, 1, tzinfo=UTC)
HOURS = 7 * 24
RUNS = 7
SECTION = "point query"


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


def measure(quick: bool = False, env: Mapping[str, str] | None = None) -> list[Figure]:
    runs = 3 if quick else RUNS
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
        for _ in range(runs):
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
    via_cli, in_process = statistics.median(cli), statistics.median(inproc)
    print(f"point query via `lakehouse query` (process start included): median {via_cli:.3f}s "
          f"over {runs} runs (target <= 1 s); in process: median {in_process:.3f}s")  # fmt: skip
    return [
        Figure(SECTION, "point query via `lakehouse query`, a week of prices", via_cli,
               target="<= 1 s", met=via_cli <= 1.0, samples=runs),
        Figure(SECTION, "point query in process (open + query)", in_process, samples=runs),
    ]  # fmt: skip


def main() -> None:
    measure()


if __name__ == "__main__":
    main()
