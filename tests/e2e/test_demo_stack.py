"""The product path: `lakehouse up` in demo mode, Airflow collects, Spark streams, silver is right.

Starts the whole local stack on its own ports and home folder (so it can run beside a demo), waits
for prices collected by the Airflow DAG to reach silver, checks them against the simulator's
formula, exactly once, then stops the stack and checks that no process was left behind.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
from browser import airflow_browser
from fault_table import FULL_FAULTS, RecordFault
from local_stack import (
    DAG_CURRENCIES,
    LAKEHOUSE,
    epoch,
    is_loopback,
    landed_keys,
    query,
    running_stack,
    silver_keys,
    stack_listeners,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from lakehouse import tables
from lakehouse.config import Settings
from lakehouse.env import read_env_file
from lakehouse.healing import minute_of, part_minutes
from lakehouse.landed_log import NOTHING, LandedLog
from lakehouse.raw_zone import s3_client
from lakehouse.runtime.stack import LocalStack
from lakehouse.s3_objects import list_objects
from lakehouse.simulator import market
from lakehouse.sources.registry import get_source
from lakehouse.spool import Spool
from lakehouse.tables import GOLD_REFRESH, MEDALLION_LANDED

pytestmark = pytest.mark.e2e

PORTS = {
    "AIRFLOW": 18088,  # not 18080: a demo's Spark History Server listens there
    "MINIO": 19000,
    "MINIO_CONSOLE": 19001,
    "POSTGRES": 15433,
    "SIMULATOR": 18090,
    "SPARK_UI": 14040,
    "SCHEDULER_HEALTH": 18974,
    "SPARK_HISTORY": 18180,
}
DAG_COINS = {"bitcoin", "ethereum", "solana"}


@pytest.fixture(scope="module")
def stack_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with running_stack(tmp_path_factory.mktemp("lakehouse-home"), PORTS) as env:
        yield env


def test_prices_collected_by_airflow_reach_silver_exactly_once(stack_env: dict[str, str]) -> None:
    deadline = time.monotonic() + 420
    minutes: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        minutes = query(stack_env, "select distinct price_ts from silver.coin_prices")
        if len(minutes) >= 2:
            break
        time.sleep(10)
    assert len(minutes) >= 2, "silver.coin_prices did not get two minutes of prices in 7 minutes"

    rows = query(stack_env, "select * from silver.coin_prices")
    for row in rows:
        minute = epoch(row["price_ts"]) // 60
        coin, cur = str(row["coin_id"]), str(row["vs_currency"])
        assert row["price"] == market.price(coin, cur, minute), row
        assert row["market_cap"] == market.market_cap(coin, cur, minute), row
        assert row["volume_24h"] == market.volume_24h(coin, cur, minute), row
        assert row["change_24h_pct"] == market.change_24h_pct(coin, cur, minute), row
        assert row["mode"] == "live"
        assert str(row["source_file"]).startswith("s3a://lake/raw/coingecko/simple_price/")

    assert {r["coin_id"] for r in rows} == DAG_COINS
    assert {r["vs_currency"] for r in rows} == DAG_CURRENCIES

    # Exactly once: one silver row per key, for every (coin, currency, minute) that landed in
    # bronze. Silver may lag bronze by a trigger, so give it time to catch up.
    deadline = time.monotonic() + 90
    while True:
        landed, in_silver, row_count = landed_keys(stack_env), *silver_keys(stack_env)
        assert len(in_silver) == row_count, "duplicate keys in silver.coin_prices"
        if in_silver == landed or time.monotonic() > deadline:
            break
        time.sleep(5)
    assert in_silver == landed


def test_the_collectors_log_every_object_they_land_once(stack_env: dict[str, str]) -> None:
    """The landed log names each raw object the Airflow collectors landed (through the hook's
    writer), once: the reconciliation, which runs every 15 minutes, has nothing to add yet."""
    lake = Settings.from_env(stack_env).lake
    s3 = s3_client(lake)
    settled = datetime.now(UTC) - timedelta(seconds=30)  # a writer logs right after its PUT
    raw = {
        str(item["Key"])
        for item in list_objects(s3, lake.bucket, "raw/")
        if item["LastModified"] < settled
    }
    landed = LandedLog(s3, lake.bucket)
    logged = [entry.key for entry in landed.read_all(landed.entry_seqs_after(NOTHING))]

    assert raw, "no raw object landed yet"
    assert len(logged) == len(set(logged)), "a key logged twice"
    assert raw - set(logged) == set(), "raw objects the collectors did not log"


SILVER_AND_GOLD_KEYS = {
    "silver.coin_prices": "coin_id, vs_currency, price_ts",
    "silver.coin_markets": "coin_id, vs_currency, last_updated",
    "silver.sensor_readings": "device_id, sensor_id, reading_ts",
    "silver.devices": "device_id",
    "gold.coin_ohlc": "coin_id, vs_currency, bar, bar_start",
    "gold.sensor_hourly": "device_id, sensor_id, hour_start",
    "gold.price_anomalies": "coin_id, vs_currency, price_ts",
    "gold.sensor_anomalies": "device_id, sensor_id, reading_ts",
}


def test_every_silver_and_gold_table_fills_with_unique_keys(stack_env: dict[str, str]) -> None:
    deadline = time.monotonic() + 180
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        counts = {table: row_count(stack_env, table) for table in SILVER_AND_GOLD_KEYS}
        if all(counts.values()):
            break
        time.sleep(10)
    assert all(counts.values()), f"empty tables after 3 minutes: {counts}"
    for table, keys in SILVER_AND_GOLD_KEYS.items():
        duplicates = query(
            stack_env, f"select {keys}, count(*) n from {table} group by all having count(*) > 1"
        )
        assert duplicates == [], f"duplicate keys in {table}: {duplicates[:3]}"
    # The one writer recorded its micro-batches.
    progress = query(stack_env, "select distinct query_name from ops.stream_progress order by 1")
    # a new bucket lake: its stream, and the driver's gold refreshes
    assert [p["query_name"] for p in progress] == [GOLD_REFRESH, MEDALLION_LANDED]


def row_count(env: dict[str, str], table: str) -> int:
    """Rows in `table`; 0 while it does not exist yet."""
    rows = query(env, f"select count(*) n from {table}")
    return int(str(rows[0]["n"])) if rows else 0


def credentials(env: dict[str, str]) -> dict[str, str]:
    """The stack's generated credentials.env."""
    return read_env_file(Path(env["LAKEHOUSE_HOME"]) / "credentials.env")


def airflow_api(env: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The Airflow REST API's base URL and an admin's Bearer header, from credentials.env."""
    creds = credentials(env)
    base = f"http://127.0.0.1:{PORTS['AIRFLOW']}"
    token = requests.post(
        f"{base}/auth/token",
        json={"username": creds["AIRFLOW_ADMIN_USER"], "password": creds["AIRFLOW_ADMIN_PASSWORD"]},
        timeout=10,
    ).json()["access_token"]
    return base, {"Authorization": f"Bearer {token}"}


def running_backfills(env: dict[str, str], dag_id: str) -> list[dict[str, Any]]:
    """The backfills of `dag_id` that Airflow has not marked completed (one may run per DAG)."""
    base, headers = airflow_api(env)
    listed = requests.get(
        f"{base}/api/v2/backfills", params={"dag_id": dag_id}, headers=headers, timeout=10
    )
    listed.raise_for_status()
    return [b for b in listed.json()["backfills"] if b["completed_at"] is None]


def lakehouse_tables(env: dict[str, str]) -> dict[str, tuple[int, int | None]]:
    """`lakehouse tables`: each table's version and rows."""
    result = subprocess.run(
        [LAKEHOUSE, "tables", "--format", "json"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return {row["table"]: (row["version"], row["rows"]) for row in json.loads(result.stdout)}


def test_the_lakehouse_page_lists_the_tables_as_the_cli_does_and_only_to_a_user(
    stack_env: dict[str, str],
) -> None:
    base, headers = airflow_api(stack_env)
    for path in ("/lakehouse/", "/lakehouse/api/tables", "/lakehouse/api/overview"):
        anonymous = requests.get(f"{base}{path}", timeout=10)
        assert anonymous.status_code == 401, (path, anonymous.text)
    assert requests.post(f"{base}/lakehouse/api/stream/stop", timeout=10).status_code == 401

    # The stream commits every few seconds: compare while the CLI sees the same versions around
    # the page's answer.
    for _ in range(10):
        before = lakehouse_tables(stack_env)
        page = requests.get(f"{base}/lakehouse/api/tables", headers=headers, timeout=60)
        after = lakehouse_tables(stack_env)
        assert page.status_code == 200, page.text
        if before == after:
            break
    assert before == after, "the lake kept changing under ten tries"
    assert {row["name"]: (row["version"], row["rows"]) for row in page.json()} == after
    assert len(after) == len(tables.ALL_TABLES)

    # The driver records its batches every few of them, and a minute counts towards completeness
    # once it is a few minutes old.
    deadline = time.monotonic() + 240
    while True:
        got = requests.get(f"{base}/lakehouse/api/overview", headers=headers, timeout=60)
        assert got.status_code == 200, got.text
        overview = got.json()
        complete = any(row["live"] for row in overview["completeness"])
        if (overview["last_batches"] and complete) or time.monotonic() > deadline:
            break
        time.sleep(10)
    assert overview["stream"]["lease"]["live"], overview["stream"]
    assert overview["prices"] and overview["sensors"], overview
    assert overview["last_batches"], "no batch of the stream on the page after 4 minutes"
    assert complete, overview["completeness"]


def test_the_lakehouse_page_in_a_browser_shows_prices_that_move_forward(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    creds = credentials(stack_env)
    base = f"http://127.0.0.1:{PORTS['AIRFLOW']}"

    def open_page(driver: WebDriver) -> datetime:
        """The page as the UI's navigation shows it (in an iframe); the newest price point."""
        driver.get(f"{base}/plugin/lakehouse")
        frame = WebDriverWait(driver, 60).until(lambda d: d.find_element(By.TAG_NAME, "iframe"))
        driver.switch_to.frame(frame)
        body = driver.find_element(By.TAG_NAME, "body")
        WebDriverWait(driver, 120).until(lambda _: body.get_attribute("data-loaded"))
        shown = {
            row.get_attribute("data-table")
            for row in driver.find_elements(By.CSS_SELECTOR, "#tables tbody tr")
        }
        assert shown == {spec.qualified_name for spec in tables.ALL_TABLES}
        points = [
            datetime.fromisoformat(str(figure.get_attribute("data-last-ts")).replace("Z", "+00:00"))
            for figure in driver.find_elements(By.CSS_SELECTOR, "#price-charts figure")
        ]
        driver.switch_to.default_content()
        assert points, "the price chart has no series"
        return max(points)

    with airflow_browser(
        base, creds["AIRFLOW_ADMIN_USER"], creds["AIRFLOW_ADMIN_PASSWORD"]
    ) as driver:
        first = open_page(driver)
        screenshot = tmp_path / "lakehouse_page.png"
        driver.save_screenshot(str(screenshot))
        print(f"screenshot of the Lakehouse page: {screenshot}")
        # A price minute is landed at its end and reaches silver within a micro-batch or two.
        assert datetime.now(UTC) - first < timedelta(minutes=2), first
        time.sleep(70)
        second = open_page(driver)
    assert second > first, (first, second)


def test_the_history_server_lists_the_stream_application(stack_env: dict[str, str]) -> None:
    """The driver's rolling event log under the stack's home reaches the History Server; the
    application of a driver from before a restart is checked in the scheduler-restart test."""
    history = f"http://127.0.0.1:{PORTS['SPARK_HISTORY']}/api/v1/applications"
    deadline = time.monotonic() + 120
    names: list[str] = []
    while time.monotonic() < deadline and "lakehouse_stream" not in names:
        names = [app["name"] for app in requests.get(history, timeout=10).json()]
        time.sleep(5)
    assert "lakehouse_stream" in names, names
    event_logs = Path(stack_env["LAKEHOUSE_HOME"]) / "spark-events"
    assert any(event_logs.iterdir()), f"no event log under {event_logs}"


def test_airflow_runs_are_green_and_spark_ui_answers(stack_env: dict[str, str]) -> None:
    base, headers = airflow_api(stack_env)
    runs = requests.get(
        f"{base}/api/v2/dags/collect_coingecko/dagRuns", headers=headers, timeout=10
    ).json()["dag_runs"]
    states = [run["state"] for run in runs]
    assert "success" in states and "failed" not in states, states
    stream = requests.get(
        f"{base}/api/v2/dags/lakehouse_stream/dagRuns", headers=headers, timeout=10
    ).json()["dag_runs"]
    assert [run["state"] for run in stream] == ["running"]
    spark_ui = requests.get(f"http://127.0.0.1:{PORTS['SPARK_UI']}/StreamingQuery/", timeout=10)
    assert spark_ui.status_code == 200
    assert MEDALLION_LANDED in spark_ui.text


def test_every_listener_of_the_stack_is_on_loopback(stack_env: dict[str, str]) -> None:
    """Closed by default: nothing of the stack, the Spark driver too, listens outside loopback."""
    listeners = stack_listeners(stack_env)
    ports = {port for _, _, port in listeners}
    # The stream's driver runs in the scheduler's tree: its UI proves it was looked at.
    assert PORTS["SPARK_UI"] in ports and PORTS["SCHEDULER_HEALTH"] in ports, listeners
    assert any(name == "java" for name, _, _ in listeners), listeners
    outside = [(name, ip, port) for name, ip, port in listeners if not is_loopback(ip)]
    assert not outside, f"listening outside loopback: {outside}"

    app = requests.get(
        f"http://127.0.0.1:{PORTS['SPARK_UI']}/api/v1/applications", timeout=10
    ).json()[0]["id"]
    environment = requests.get(
        f"http://127.0.0.1:{PORTS['SPARK_UI']}/api/v1/applications/{app}/environment", timeout=10
    ).json()
    properties = dict(environment["sparkProperties"])
    assert properties["spark.ui.killEnabled"] == "false"
    assert properties["spark.driver.bindAddress"] == "127.0.0.1"


def test_postgres_refuses_a_connection_without_a_password(stack_env: dict[str, str]) -> None:
    from lakehouse.runtime.postgres import postgres_bin

    env = {k: v for k, v in stack_env.items() if not k.startswith("PG")}
    for user in ("postgres", "airflow"):
        result = subprocess.run(
            [str(postgres_bin() / "psql"), "-h", "127.0.0.1", "-p", str(PORTS["POSTGRES"]),
             "-U", user, "-d", "airflow", "-w", "-c", "select 1"],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode != 0 and "password" in result.stderr, (user, result.stderr)


def test_the_query_cli_refuses_local_files(stack_env: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "x.csv"
    copy = subprocess.run(
        [LAKEHOUSE, "query", f"copy (select 1) to '{target}'"],
        env=stack_env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert copy.returncode != 0 and "only reads the lake's tables" in copy.stderr, copy.stderr
    assert not target.exists()
    creds = Path(stack_env["LAKEHOUSE_HOME"]) / "credentials.env"
    read = subprocess.run(
        [LAKEHOUSE, "query", f"select * from read_text('{creds}')"],
        env=stack_env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert read.returncode != 0 and "PASSWORD" not in read.stdout + read.stderr


def test_backfill_of_past_minutes_lands_history_through_the_airflow_cli(
    stack_env: dict[str, str],
) -> None:
    """`lakehouse airflow backfill create` (the README's command) runs history collections."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start, end = now - timedelta(minutes=40), now - timedelta(minutes=37)  # 4 runs, inclusive
    created = subprocess.run(
        [LAKEHOUSE, "airflow", "backfill", "create", "--dag-id", "collect_coingecko",
         "--from-date", start.isoformat(), "--to-date", end.isoformat()],
        env=stack_env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr[-2000:]

    # History comes in blocks at the API's grain (here the UTC hour, 5-minutely): each pair's
    # history envelopes must cover the four minutes, with the simulator's price at every point.
    # The four minutes may straddle an hour, and then two blocks cover them between them.
    wanted = [start + timedelta(minutes=i) for i in range(4)]
    pairs = {(coin, cur) for coin in DAG_COINS for cur in DAG_CURRENCIES}
    deadline = time.monotonic() + 300
    covered: set[tuple[str, str]] = set()
    history: list[dict[str, Any]] = []
    while time.monotonic() < deadline and covered != pairs:
        time.sleep(10)
        history = query(
            stack_env,
            "select request.params['id'] coin, request.params['vs_currency'] cur, "
            "interval_start, interval_end, payload from bronze.raw_events "
            "where mode = 'history' and endpoint = 'market_chart_range'",
        )
        covered = {
            pair for pair in pairs if all(_covered(history, pair, minute) for minute in wanted)
        }
    seen = sorted(
        f"{e['coin']}/{e['cur']} {e['interval_start']}-{e['interval_end']}" for e in history
    )
    assert covered == pairs, f"wanted {wanted[0]}..{wanted[-1]}; history envelopes: {seen}"
    for event in history:
        for point_ms, value in json.loads(str(event["payload"]))["prices"]:
            assert value == market.price(str(event["coin"]), str(event["cur"]), point_ms // 60_000)

    # Airflow allows one running backfill per DAG: this one must finish, not linger.
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and running_backfills(stack_env, "collect_coingecko"):
        time.sleep(5)
    assert running_backfills(stack_env, "collect_coingecko") == []


def _covered(history: list[dict[str, Any]], pair: tuple[str, str], minute: datetime) -> bool:
    """Whether one of `pair`'s history envelopes holds `minute`."""
    return any(
        (str(e["coin"]), str(e["cur"])) == pair
        and _utc(e["interval_start"]) <= minute < _utc(e["interval_end"])
        for e in history
    )


def _utc(moment: Any) -> datetime:
    """A timestamp as DuckDB returns it (naive UTC, or aware) as an aware UTC datetime."""
    value = moment if isinstance(moment, datetime) else datetime.fromisoformat(str(moment))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def backfill_runs_done(env: dict[str, str], dag_id: str) -> int | None:
    """How many backfill runs of `dag_id` succeeded; None while some are queued or running."""
    base, headers = airflow_api(env)
    runs: list[dict[str, Any]] = []
    total = 1
    while len(runs) < total:  # the API serves at most 100 runs a page
        page = requests.get(
            f"{base}/api/v2/dags/{dag_id}/dagRuns",
            params={"run_type": "backfill", "limit": 100, "offset": len(runs)},
            headers=headers,
            timeout=30,
        )
        page.raise_for_status()
        runs += page.json()["dag_runs"]
        total = page.json()["total_entries"]
    assert runs, f"no backfill runs of {dag_id} are listed"
    if any(run["state"] in ("queued", "running") for run in runs):
        return None
    return sum(run["state"] == "success" for run in runs)


def test_a_backfill_older_than_a_day_costs_one_call_per_pair_while_live_minutes_land(
    stack_env: dict[str, str],
) -> None:
    """An hour of a day two days back: CoinGecko serves that day hourly, as one block per pair,
    so 60 runs make 6 range calls; live runs, first in line, keep landing every minute."""
    day = (datetime.now(UTC) - timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
    began = datetime.now(UTC).replace(second=0, microsecond=0)
    created = subprocess.run(
        [LAKEHOUSE, "airflow", "backfill", "create", "--dag-id", "collect_coingecko",
         "--from-date", day.isoformat(), "--to-date", (day + timedelta(minutes=59)).isoformat()],
        env=stack_env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr[-2000:]
    deadline = time.monotonic() + 900
    done = None
    while time.monotonic() < deadline and done is None:
        time.sleep(15)
        done = backfill_runs_done(stack_env, "collect_coingecko")
    ended = datetime.now(UTC).replace(second=0, microsecond=0)
    assert done is not None and done >= 60

    blocks = query(
        stack_env,
        "select request.params['id'] coin, request.params['vs_currency'] cur, payload "
        "from bronze.raw_events where endpoint = 'market_chart_range' "
        f"and interval_start = '{day.isoformat()}'",
    )
    assert sorted((str(b["coin"]), str(b["cur"])) for b in blocks) == sorted(
        (coin, cur) for coin in DAG_COINS for cur in DAG_CURRENCIES
    )  # one object, hence one call, per pair
    hourly = query(
        stack_env,
        "select coin_id, vs_currency, price_ts, price from silver.coin_prices "
        f"where resolution = '1h' and price_ts >= '{day.isoformat()}' "
        f"and price_ts < '{(day + timedelta(days=1)).isoformat()}'",
    )
    assert len(hourly) == 6 * 24
    for row in hourly:
        minute = int(_utc(row["price_ts"]).timestamp()) // 60
        assert row["price"] == market.price(str(row["coin_id"]), str(row["vs_currency"]), minute)

    # Every minute from the backfill's creation to its end (at least two) has its live prices.
    minutes = max(2, int((ended - began).total_seconds()) // 60)
    wanted = {began + timedelta(minutes=i) for i in range(minutes)}
    deadline = time.monotonic() + 240
    live: set[datetime] = set()
    while time.monotonic() < deadline and not wanted <= live:
        time.sleep(10)
        rows = query(
            stack_env,
            "select price_ts, count(*) n from silver.coin_prices where resolution = '1m' "
            f"and price_ts >= '{began.isoformat()}' group by 1",
        )
        live = {_utc(row["price_ts"]) for row in rows if row["n"] == 6}
    assert wanted <= live, sorted(wanted - live)


def stream_drivers() -> list[psutil.Process]:
    """The running Python drivers of the stream job (one per spark-submit of the DAG)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if any(arg.endswith("jobs/lakehouse_stream.py") for arg in cmdline) and any(
            "python" in Path(arg).name for arg in cmdline[:1]
        ):
            found.append(proc)
    return found


def failed_stream_tries(env: dict[str, str]) -> int:
    """Tries of `run_stream_job`, over all runs of `lakehouse_stream`, that ended failed."""
    base, headers = airflow_api(env)
    listed = requests.get(
        f"{base}/api/v2/dags/lakehouse_stream/dagRuns", params={"limit": 100}, headers=headers,
        timeout=30,
    )  # fmt: skip
    assert listed.status_code == 200, f"{listed.status_code}: {listed.text[:2000]}"
    runs = listed.json()["dag_runs"]
    failed = 0
    for run in runs:
        tries = requests.get(
            f"{base}/api/v2/dags/lakehouse_stream/dagRuns/{run['dag_run_id']}"
            "/taskInstances/run_stream_job/tries",
            headers=headers,
            timeout=30,
        )
        if tries.status_code == 404:
            continue  # this run has not reached the task
        assert tries.status_code == 200, f"{tries.status_code}: {tries.text[:2000]}"
        failed += sum(
            t["state"] in ("failed", "up_for_retry") for t in tries.json()["task_instances"]
        )
    return failed


def seconds_to_fresh(env: dict[str, str], since: datetime, timeout: float = 300) -> float | None:
    """From now until silver holds all 6 live prices of a minute that began after `since`."""
    first = since.replace(second=0, microsecond=0) + timedelta(minutes=1)
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        rows = query(
            env,
            "select count(*) n from silver.coin_prices where resolution = '1m' "
            f"and price_ts >= '{first.isoformat()}' group by price_ts having count(*) = 6",
        )
        if rows:
            return time.monotonic() - started
        time.sleep(3)
    return None


def raw_objects(env: dict[str, str]) -> set[str]:
    """Every object of the raw zone now, as bronze names them (`source_file`)."""
    lake = Settings.from_env(env).lake
    pages = (
        s3_client(lake).get_paginator("list_objects_v2").paginate(Bucket=lake.bucket, Prefix="raw/")
    )
    return {
        f"s3a://{lake.bucket}/{item['Key']}"
        for page in pages
        for item in page.get("Contents", [])
        if item["Key"].endswith(".json")
    }


def catch_up(
    env: dict[str, str], raw: set[str], timeout: float = 300
) -> tuple[float | None, int, int]:
    """Wait until bronze holds every object of `raw` and silver the prices of its /simple/price
    objects: (seconds it took, or None; objects bronze lacks; objects bronze holds twice)."""
    prices = {key for key in raw if "/coingecko/simple_price/" in key}
    started = time.monotonic()
    lost = duplicated = len(raw)
    while time.monotonic() - started < timeout:
        rows = query(env, "select source_file, count(*) n from bronze.raw_events group by 1")
        held = {str(r["source_file"]): int(str(r["n"])) for r in rows}
        lost = len(raw - set(held))
        duplicated = sum(n - 1 for n in held.values())
        priced = {
            str(r["source_file"])
            for r in query(env, "select distinct source_file from silver.coin_prices")
        }
        if lost == 0 and prices <= priced:
            return time.monotonic() - started, lost, duplicated
        time.sleep(3)
    return None, lost, duplicated


@pytest.mark.faults
def test_a_two_minute_minio_outage_under_the_stream(
    stack_env: dict[str, str], record_fault: RecordFault
) -> None:
    """MinIO stops for 2 minutes under the running stream: the driver fails or waits, Airflow
    starts another, at most 3 tries fail, and silver is fresh within 2 minutes of MinIO's return;
    what landed before the outage is in bronze exactly once."""
    settings = Settings.from_env(stack_env)
    stack = LocalStack(settings)
    assert seconds_to_fresh(stack_env, datetime.now(UTC) - timedelta(minutes=2)) is not None
    failed_before = failed_stream_tries(stack_env)
    assert stack.processes.stop("minio")
    down = datetime.now(UTC)
    time.sleep(120)
    up = subprocess.run([LAKEHOUSE, "up"], env=stack_env, capture_output=True, text=True)
    assert up.returncode == 0, up.stderr
    back = datetime.now(UTC)
    # The prices of the first run due after the return in silver (its minute's wait included).
    fresh = seconds_to_fresh(stack_env, back - timedelta(minutes=1))
    raw = raw_objects(stack_env)
    _, lost, duplicated = catch_up(stack_env, raw)
    record_fault("MinIO down 120 s", 1, len(raw), lost, duplicated, fresh)
    assert (lost, duplicated) == (0, 0)
    # Fresh again within the 300 s wait. The target, 120 s from MinIO's return, gates the
    # full suite (`make test-faults`); the short run in `make test` reports the figure (97 s and
    # 133 s on 2 cores, 2026-12-05: not met reliably yet, see the README's fault suite).
    assert fresh is not None
    if FULL_FAULTS:
        assert fresh <= 120, f"silver fresh {fresh:.0f} s after MinIO's return, target 120 s"
    assert failed_stream_tries(stack_env) - failed_before <= 3
    assert len(stream_drivers()) == 1
    # No minute lost: each minute collected during the outage was spooled and landed, live.
    during = minutes_collected_between(down, back)
    live = live_price_minutes(raw)
    in_silver = live_minutes_in_silver(stack_env, during)
    print(f"\nMinIO outage: {len(during)} minutes due, {len(set(during) & live)} landed live, "
          f"{len(in_silver)} with all 6 live prices in silver")  # fmt: skip
    assert during and set(during) <= live, sorted(set(during) - live)
    assert in_silver == set(during), sorted(set(during) - in_silver)
    assert Spool(settings.spool, settings.spool_max_mb).pending() == []
    assert query(stack_env, DUPLICATE_PRICES) == []


DUPLICATE_PRICES = (
    "select coin_id, vs_currency, price_ts, count(*) n from silver.coin_prices "
    "group by all having count(*) > 1"
)


def live_minutes_in_silver(env: dict[str, str], minutes: list[datetime]) -> set[datetime]:
    """Those of `minutes` for which silver holds all 6 live (`1m`) prices."""
    if not minutes:
        return set()
    first, last = min(minutes).isoformat(), max(minutes).isoformat()
    rows = query(
        env,
        "select price_ts from silver.coin_prices where resolution = '1m' "
        f"and price_ts >= '{first}' and price_ts <= '{last}' group by price_ts having count(*) = 6",
    )
    return {_utc(row["price_ts"]) for row in rows} & set(minutes)


def minutes_collected_between(start: datetime, end: datetime) -> list[datetime]:
    """The intervals [M, M+1m) whose live runs were due (at M+1m) strictly within (start, end)."""
    minute = start.replace(second=0, microsecond=0)
    due = []
    while minute + timedelta(minutes=1) < end:
        if minute + timedelta(minutes=1) > start:
            due.append(minute)
        minute += timedelta(minutes=1)
    return due


def live_price_minutes(raw: set[str]) -> set[datetime]:
    """The interval starts of the live /simple/price objects among `raw`."""
    return {
        minute
        for key in raw
        if "/coingecko/simple_price/" in key and (minute := minute_of(key)) is not None
    }


@pytest.mark.faults
def test_a_scheduler_restart_never_makes_two_drivers_and_healing_fills_the_gap(
    stack_env: dict[str, str], record_fault: RecordFault
) -> None:
    """The scheduler is stopped (200 s; 10 minutes in the full suite) and started again under a
    running stream: at no moment do two drivers run, silver is fresh again, and the healing DAG
    fills the minutes no live run collected from history within 5 minutes of the restart."""
    settings = Settings.from_env(stack_env)
    stack = LocalStack(settings)
    assert seconds_to_fresh(stack_env, datetime.now(UTC) - timedelta(minutes=2)) is not None
    with DriverCount() as drivers:
        assert stack.processes.stop("airflow-scheduler")
        stopped = datetime.now(UTC)
        time.sleep(SCHEDULER_DOWN_SECONDS)
        up = subprocess.run([LAKEHOUSE, "up"], env=stack_env, capture_output=True, text=True)
        assert up.returncode == 0, up.stderr
        back = datetime.now(UTC)
        fresh = seconds_to_fresh(stack_env, back)
        gap = (stopped.replace(second=0, microsecond=0), back.replace(second=0, microsecond=0))
        healed_after = seconds_to_healed(settings, gap, back, timeout=HEAL_WITHIN + 120)
        # Still watching: a second driver would start within the stream task's retry delay.
        time.sleep(max(0.0, 60 - (datetime.now(UTC) - back).total_seconds()))
    status = subprocess.run([LAKEHOUSE, "status"], env=stack_env, capture_output=True, text=True)
    raw = raw_objects(stack_env)
    _, lost, duplicated = catch_up(stack_env, raw)
    live = live_price_minutes(raw)
    span = int((gap[1] - gap[0]).total_seconds()) // 60
    missed = [m for i in range(span) if (m := gap[0] + timedelta(minutes=i)) not in live]
    print(f"\nscheduler gap {gap[0]:%H:%M}-{gap[1]:%H:%M}: {span} minutes, {len(missed)} without "
          f"a live run, healed after {healed_after} s")  # fmt: skip
    record_fault("scheduler restart", 1, len(raw), lost, duplicated, fresh)
    record_fault(f"scheduler down {SCHEDULER_DOWN_SECONDS} s", 1, len(raw), lost, duplicated,
                 healed_after)  # fmt: skip
    assert drivers.most == 1, f"{drivers.most} drivers ran at once"
    assert fresh is not None
    assert (lost, duplicated) == (0, 0)
    assert missed, "every minute of the gap had its live run: nothing to heal, nothing tested"
    assert healed_after is not None, f"the minutes {missed} were not healed"
    # The target, in the short run too: healing runs every minute and only waits out
    # HEAL_LAG (3 minutes), so the last missed minute is healed about 2 minutes after the return.
    assert healed_after <= HEAL_WITHIN, f"healed {healed_after:.0f} s after the restart"
    assert "Completeness of the raw zone" in status.stdout, status.stdout + status.stderr
    # The Spark UI of the driver from before the restart is still there, in the History Server.
    history = f"http://127.0.0.1:{PORTS['SPARK_HISTORY']}/api/v1/applications"
    drivers_seen = [
        a for a in requests.get(history, timeout=10).json() if a["name"] == "lakehouse_stream"
    ]
    assert len(drivers_seen) >= 2, drivers_seen


HEAL_WITHIN = 300.0
"""Seconds after the scheduler's return by which its missed minutes must be healed."""


class DriverCount:
    """The most stream drivers seen at once while the block runs (sampled every second)."""

    def __init__(self) -> None:
        self.most = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> DriverCount:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._done.wait(1.0):
            self.most = max(self.most, len(stream_drivers()))


SCHEDULER_DOWN_SECONDS = 600 if FULL_FAULTS else 200
"""On its return the scheduler creates the run it had already planned next and the latest one
(catchup=False), so a stop across two minute boundaries misses nothing; 200 s crosses at least
three, and so leaves at least one minute for healing."""


def seconds_to_healed(
    settings: Settings, gap: tuple[datetime, datetime], since: datetime, timeout: float
) -> float | None:
    """Seconds from `since` until every minute of `gap` of CoinGecko's prices is complete (live
    or healed from history), with some of them healed; None after `timeout`."""
    s3 = s3_client(settings.lake)
    source = get_source("coingecko")
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        prices = next(
            p
            for p in part_minutes(
                s3, settings.lake.bucket, source, settings.sources["coingecko"], gap
            )
            if p.part == "prices"
        )
        if not prices.missing and prices.healed:
            return (datetime.now(UTC) - since).total_seconds()
        time.sleep(10)
    return None
