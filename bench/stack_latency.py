"""Benchmark on a running stack (`make demo`): freshness, collection task time, scheduling delay.

Targets (DESIGN.md): raw object landed -> silver row visible p95 <= 10 s; interval end -> silver
p95 <= 20 s; collection task p95 <= 3 s; scheduling delay p95 <= 5 s.

Freshness is measured with probe envelopes: each lands a /simple/price response for a minute of
the year 2000 (so it never collides with collected data) through the raw-zone writer, and the time
until its row is visible in silver.coin_prices is taken. Collection and scheduling figures come from
Airflow's REST API over the task instances of collect_coingecko that already ran.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

import requests

from lakehouse.config import Settings, read_env_file
from lakehouse.query import delta_storage_options, open_lake, run_query
from lakehouse.raw_zone import ApiResponse, DataInterval, Envelope, RawZoneWriter, s3_client
from lakehouse.runtime.airflow_stack import api_token

PROBES = 12
RECENT = timedelta(minutes=45)
"""Scheduling delay counts only scheduled runs due this recently: older ones include the runs
Airflow started late after a stop of the scheduler or of the stack, which measure the stop."""
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def p95(values: list[float]) -> float:
    return (
        statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]
    )


def freshness(settings: Settings) -> list[float]:
    lake = settings.lake
    writer = RawZoneWriter(s3_client(lake), lake.bucket)
    storage = delta_storage_options(lake)
    run_tag = int(time.time())
    delays = []
    for probe in range(PROBES):
        minute = EPOCH + timedelta(minutes=run_tag % 500_000 + probe)
        body = {"bitcoin": {"usd": 1.0 + probe, "last_updated_at": int(minute.timestamp())}}
        response = ApiResponse(
            "coingecko", "simple_price", "bench://probe", {"probe": str(run_tag)}, 200,
            json.dumps(body).encode(), datetime.now(UTC),
        )  # fmt: skip
        envelope = Envelope(
            response, DataInterval(minute, minute + timedelta(minutes=1)), "live", "bench"
        )
        landed = time.monotonic()
        writer.write(envelope)
        sql = (
            "select count(*) from silver.coin_prices "
            f"where price_ts = to_timestamp({int(minute.timestamp())})"
        )
        while time.monotonic() - landed < 120:
            _, rows = run_query(sql, open_lake(lake.uri(""), storage))
            if rows[0][0] == 1:
                break
            time.sleep(0.25)
        delays.append(time.monotonic() - landed)
        print(f"  probe {probe + 1:2d}: visible in silver after {delays[-1]:5.1f}s", flush=True)
    return delays


def airflow_figures(settings: Settings) -> tuple[list[float], list[float]]:
    token = api_token(settings, read_env_file(settings.credentials_file))
    base = f"http://127.0.0.1:{settings.ports.airflow}"
    instances = requests.get(
        f"{base}/api/v2/dags/collect_coingecko/dagRuns/~/taskInstances",
        params={"state": "success", "limit": 200, "order_by": "-start_date"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()["task_instances"]
    durations = [float(ti["duration"]) for ti in instances if ti.get("duration") is not None]
    since = datetime.now(UTC) - RECENT
    delays = [
        # run_after is when a run was due: the end of its data interval.
        (
            datetime.fromisoformat(ti["start_date"]) - datetime.fromisoformat(ti["run_after"])
        ).total_seconds()
        for ti in instances
        if ti.get("start_date")
        and ti.get("run_after")
        and str(ti.get("dag_run_id", "")).startswith("scheduled__")
        and datetime.fromisoformat(ti["run_after"]) >= since
    ]
    return durations, delays


def report(label: str, values: list[float], target: str) -> None:
    print(
        f"{label}: median {statistics.median(values):.2f}s, p95 {p95(values):.2f}s "
        f"over {len(values)} (target {target})"
    )


def main() -> int:
    settings = Settings.from_env()
    try:
        requests.get(f"http://127.0.0.1:{settings.ports.airflow}/api/v2/monitor/health", timeout=3)
    except requests.RequestException:
        print("skipped: needs the running stack (make demo)")
        return 0
    durations, scheduling = airflow_figures(settings)
    if durations:
        report("collection task duration", durations, "p95 <= 3 s")
    if scheduling:
        report(
            f"scheduling delay, interval end -> task start (scheduled runs due in the last "
            f"{RECENT.total_seconds() / 60:.0f} min)",
            scheduling,
            "p95 <= 5 s",
        )
    report("freshness, raw landed -> silver visible", freshness(settings), "p95 <= 10 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
