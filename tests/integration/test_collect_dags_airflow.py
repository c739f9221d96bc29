"""The collect DAGs run by Airflow's task runner (`dag.test()`), against MinIO and the simulator.

Checks the wiring the unit tests cannot: Params reach the tasks, Connections become clients, the
lake Connection and Variable reach the writer, a history run lands history and skips what has
none, a bad Param fails before any request, and history beyond the plan's window fails the task
at once, without retries. Airflow runs in a subprocess with its own home and a
SQLite database (fine for `dag.test()`, which runs one task at a time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lakehouse.config import REPO_ROOT, SimulatorSettings
from lakehouse.simulator.app import create_app, serve_in_thread

pytestmark = pytest.mark.integration

# Runs the DAGs with `dag.test()` and prints `RESULTS<json>`; a script, not a test module.
RUNNER = Path(__file__).resolve().parents[1] / "airflow_probes" / "run_collect_dags.py"


@pytest.fixture(scope="module")
def live_simulator() -> Iterator[str]:
    """The simulator on the real clock: `dag.test()` decides live or history by the real time.

    CoinGecko's real grain: the past run fetches the whole hour block that holds its minute. No
    per-minute limits: this test is not about them.
    """
    rules = SimulatorSettings(coingecko_rate_limit=0, smartcitizen_rate_limit=0)
    with serve_in_thread(create_app(settings=rules)) as url:
        yield url


def test_the_collect_dags_run_in_airflow(minio: Any, live_simulator: str, tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    recent, past = now - timedelta(minutes=1), now - timedelta(hours=3)
    # The DAGs start on 2026-01-01, before which no run has tasks: the window is set to 1 day
    # (the connection extra `history_days`) so that a run 2 days back lies beyond it.
    beyond_window = now - timedelta(days=2)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "COINGECKO"))},
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_COINGECKO_API": json.dumps(
            {"conn_type": "http", "host": f"{live_simulator}/api/v3", "password": "CG-dag-secret",
             "extra": {"plan": "demo", "rate_limit_per_minute": 6000, "history_days": 1}}
        ),
        "AIRFLOW_CONN_SMARTCITIZEN_API": json.dumps(
            {"conn_type": "http", "host": f"{live_simulator}/v0",
             "extra": {"rate_limit_per_minute": 6000}}
        ),
        "AIRFLOW_CONN_LAKE_S3": json.dumps(
            {"conn_type": "aws", "login": minio.lake.access_key, "password": minio.lake.secret_key,
             "extra": {"endpoint_url": minio.lake.endpoint_url, "region_name": "us-east-1"}}
        ),
        "AIRFLOW_VAR_LAKEHOUSE_BUCKET": minio.lake.bucket,
    }  # fmt: skip
    airflow = str(Path(sys.executable).parent / "airflow")
    migrated = subprocess.run(
        [airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300
    )
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    runs = [
        ["collect_coingecko", recent.isoformat(), {"coins": ["bitcoin"], "currencies": ["usd"]}],
        ["collect_coingecko", past.isoformat(), {"coins": ["cardano"], "currencies": ["chf"]}],
        ["collect_smartcitizen", recent.isoformat(), {"devices": [15602], "world_map": True}],
        ["collect_smartcitizen", past.isoformat(), {"devices": [1616]}],
        ["collect_coingecko", recent.isoformat(), {"coins": ["Bitcoin"]}],
        [
            "collect_coingecko",
            beyond_window.isoformat(),
            {"coins": ["bitcoin"], "currencies": ["eur"]},
        ],
    ]

    result = subprocess.run(
        [sys.executable, str(RUNNER), str(REPO_ROOT / "dags"), json.dumps(runs)],
        env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULTS"))
    cg_live, cg_past, sc_live, sc_past, bad, too_old = json.loads(line[len("RESULTS") :])
    assert cg_live[1:] == ["success", {"prices": "success", "markets": "success"}]
    assert cg_past[1:] == ["success", {"prices": "success", "markets": "skipped"}]
    assert sc_live[1:] == ["success", {"devices": "success", "world_map": "success"}]
    assert sc_past[1:] == ["success", {"devices": "success", "world_map": "skipped"}]
    assert bad[1] == "refused" and "Invalid input for param coins: 'Bitcoin'" in bad[2]
    # Failed at once (AirflowFailException): not up_for_retry, no request made.
    assert too_old[1:] == ["failed", {"prices": "failed", "markets": "skipped"}]
    assert "plan 'demo' serves 1 day of history" in result.stdout + result.stderr

    s3 = minio.client()

    def landed(prefix: str) -> list[dict[str, Any]]:
        listed = s3.list_objects_v2(Bucket=minio.lake.bucket, Prefix=prefix).get("Contents", [])
        return [
            json.loads(s3.get_object(Bucket=minio.lake.bucket, Key=obj["Key"])["Body"].read())
            for obj in listed
        ]

    charts = [
        e
        for e in landed("raw/coingecko/market_chart_range/")
        if e["request"]["params"]["id"] == "cardano"
    ]
    assert len(charts) == 1 and charts[0]["mode"] == "history"
    assert charts[0]["payload"]["prices"]  # the simulator had the minute
    # (Other tests share this MinIO: look only where this one wrote.)
    readings = landed(f"raw/smartcitizen/readings/date={past - timedelta(minutes=1):%Y-%m-%d}/")
    assert {e["request"]["params"]["device_id"] for e in readings} == {"1616"}
    assert len(readings) == 9 and all(e["mode"] == "history" for e in readings)
    prices = [e for e in landed("raw/coingecko/simple_price/") if "bitcoin" in e["payload"]]
    assert prices and all(e["mode"] == "live" for e in prices)
    assert not any("CG-dag-secret" in json.dumps(e) for e in prices + charts)
    assert landed("raw/smartcitizen/world_map/")
