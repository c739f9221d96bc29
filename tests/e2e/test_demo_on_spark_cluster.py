"""The stream on a Spark standalone cluster: `LAKEHOUSE_SPARK_WORKERS=2 make demo`, and a worker
killed mid-stream.

The lakehouse_stream DAG submits the job to a local master with two workers (one core each);
collected prices must reach silver, and after one worker is killed (its supervisor brings it back)
the stream must go on with nothing lost and nothing doubled.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
from local_stack import (
    LAKEHOUSE,
    epoch,
    is_loopback,
    landed_keys,
    query,
    running_stack,
    silver_keys,
    stack_listeners,
)

from lakehouse.config import Settings
from lakehouse.runtime.stack import LocalStack

pytestmark = pytest.mark.e2e

PORTS = {
    "AIRFLOW": 28080,
    "MINIO": 29000,
    "MINIO_CONSOLE": 29001,
    "POSTGRES": 25433,
    "SIMULATOR": 28090,
    "SPARK_UI": 24040,
    "SCHEDULER_HEALTH": 28974,
    "SPARK_MASTER": 27077,
    "SPARK_MASTER_UI": 28081,
    "SPARK_WORKER_UI": 28082,
    "SPARK_HISTORY": 28180,
}
MASTER_JSON = f"http://127.0.0.1:{PORTS['SPARK_MASTER_UI']}/json/"


@pytest.fixture(scope="module")
def cluster_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    home = tmp_path_factory.mktemp("lakehouse-cluster-home")
    with running_stack(home, PORTS, {"LAKEHOUSE_SPARK_WORKERS": "2"}) as env:
        yield env


def master_state() -> dict[str, Any]:
    try:
        state: dict[str, Any] = requests.get(MASTER_JSON, timeout=5).json()
    except (requests.RequestException, ValueError):
        return {}
    return state


def alive_workers(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [w for w in state.get("workers", []) if w["state"] == "ALIVE"]


def stream_app(state: dict[str, Any]) -> dict[str, Any] | None:
    apps = [a for a in state.get("activeapps", []) if a["name"] == "lakehouse_stream"]
    return apps[0] if apps else None


def wait_for(what: str, check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(5)
    raise AssertionError(f"{what} within {timeout:.0f}s")


def price_minutes(env: dict[str, str]) -> set[int]:
    rows = query(env, "select distinct price_ts from silver.coin_prices")
    return {epoch(row["price_ts"]) for row in rows}


def test_the_stream_runs_on_two_workers_and_survives_losing_one(
    cluster_env: dict[str, str],
) -> None:
    state = wait_for(
        "two ALIVE workers and the running lakehouse_stream application",
        lambda: (s := master_state()) and len(alive_workers(s)) == 2 and stream_app(s) and s,
        420,
    )
    app = stream_app(state)
    assert app is not None and app["state"] == "RUNNING"
    assert {w["webuiaddress"] for w in alive_workers(state)} == {
        "http://127.0.0.1:28082",
        "http://127.0.0.1:28083",
    }
    wait_for("silver.coin_prices got collected prices", lambda: price_minutes(cluster_env), 420)

    # Closed in cluster mode too: master, workers, executors and driver all on loopback.
    listeners = stack_listeners(cluster_env)
    assert {PORTS["SPARK_MASTER"], PORTS["SPARK_MASTER_UI"], 28082, 28083} <= {
        port for _, _, port in listeners
    }
    outside = [(name, ip, port) for name, ip, port in listeners if not is_loopback(ip)]
    assert not outside, f"listening outside loopback: {outside}"

    # Kill one worker's JVM mid-stream; its executor goes with it.
    home = Path(cluster_env["LAKEHOUSE_HOME"])
    supervisor = psutil.Process(
        json.loads((home / "run" / "spark-worker-2.pid").read_text())["pid"]
    )
    (worker,) = [p for p in supervisor.children() if p.name() == "java"]
    killed_at = time.time()
    os.kill(worker.pid, signal.SIGKILL)
    minutes_before = price_minutes(cluster_env)

    def back_to_two() -> bool:
        s = master_state()
        return len(alive_workers(s)) == 2 and any(
            w["webuiaddress"] == "http://127.0.0.1:28083" for w in alive_workers(s)
        )

    wait_for("the killed worker back and registered", back_to_two, 120)
    worker_back = time.time() - killed_at

    def fresh_after_kill() -> set[int]:
        return {m for m in price_minutes(cluster_env) - minutes_before if m >= killed_at - 60}

    wait_for("silver got a minute collected after the kill", fresh_after_kill, 300)
    fresh = time.time() - killed_at
    after = stream_app(master_state())
    assert after is not None and after["id"] == app["id"], "the stream's application was replaced"

    # Nothing lost, nothing doubled: every price in bronze is in silver, once.
    deadline = time.monotonic() + 120
    while True:
        landed, (in_silver, row_count) = landed_keys(cluster_env), silver_keys(cluster_env)
        assert len(in_silver) == row_count, "duplicate keys in silver.coin_prices"
        if in_silver == landed or time.monotonic() > deadline:
            break
        time.sleep(10)
    assert in_silver == landed

    settings = Settings.from_env(cluster_env)
    parts = LocalStack(settings).status()
    rss = {part.name: part.rss_bytes for part in parts}
    status = subprocess.run([LAKEHOUSE, "status"], env=cluster_env, capture_output=True, text=True)
    assert status.returncode == 0 and "spark-worker-2" in status.stdout, status.stdout
    print(
        f"\nworker kill at {datetime.fromtimestamp(killed_at, UTC):%H:%M:%S}: worker back in "
        f"{worker_back:.0f}s, silver fresh in {fresh:.0f}s; {len(in_silver)} keys, 0 lost, "
        f"0 doubled\nmemory with 2 workers: {sum(rss.values()) / 2**30:.2f} GiB in all: "
        + ", ".join(f"{name} {value / 2**20:.0f} MiB" for name, value in rss.items() if value)
    )
