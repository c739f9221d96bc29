"""A real Spark History Server, started the way the stack starts it, shows a driver that wrote its
rolling event log into the server's folder with the DAG's event log conf.

The driver runs in an interpreter of its own: in the test process, `getOrCreate` would hand back
the unit tests' session if one exists, without the event log conf.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from lakehouse.config import Settings
from lakehouse.runtime import spark_history
from lakehouse.runtime.processes import ProcessManager, free_port
from lakehouse.spark.event_log import event_log_conf

pytestmark = pytest.mark.integration

DRIVER = """
import json, sys
from pyspark.sql import SparkSession

builder = SparkSession.builder.master("local[1]").appName("history-probe")
for key, value in json.loads(sys.argv[1]).items():
    builder = builder.config(key, value)
spark = builder.getOrCreate()
spark.range(100).selectExpr("sum(id)").collect()
print(spark.sparkContext.applicationId)
spark.stop()
"""
LOOPBACK = {"127.0.0.1", "::ffff:127.0.0.1"}


@dataclass(frozen=True)
class History:
    settings: Settings
    process: psutil.Process

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.ports.spark_history}"

    def applications(self) -> list[dict[str, Any]]:
        try:
            found: list[dict[str, Any]] = requests.get(
                f"{self.url}/api/v1/applications", timeout=5
            ).json()
        except (requests.RequestException, ValueError):
            return []
        return found


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    port = str(free_port())
    settings = Settings.from_env(
        {"LAKEHOUSE_HOME": str(tmp_path), "LAKEHOUSE_SPARK_HISTORY_PORT": port}
    )
    processes = ProcessManager(tmp_path / "run", tmp_path / "logs")
    spark_history.write_conf(settings.home, settings.ports.spark_history)
    base = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    try:
        process = processes.start(spark_history.history_spec(settings, base))
        yield History(settings, process)
    finally:
        processes.stop(spark_history.NAME)


def listening(process: psutil.Process) -> set[tuple[str, int]]:
    """The addresses the process and its children listen on."""
    return {
        (conn.laddr.ip, conn.laddr.port)
        for member in [process, *process.children(recursive=True)]
        for conn in member.net_connections(kind="inet")
        if conn.status == psutil.CONN_LISTEN
    }


def test_a_stopped_driver_shows_up_completed_in_the_history_server(history: History) -> None:
    port = history.settings.ports.spark_history
    listeners = listening(history.process)
    assert {address for address, _ in listeners} <= LOOPBACK, listeners
    assert {found for _, found in listeners} == {port}

    folder = spark_history.event_log_dir(history.settings.home)
    conf = {
        **event_log_conf(folder.as_uri()),
        "spark.ui.enabled": "false",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.driver.host": "127.0.0.1",
    }
    driver = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(conf)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert driver.returncode == 0, driver.stderr[-2000:]
    app_id = driver.stdout.strip().splitlines()[-1]
    assert (folder / f"eventlog_v2_{app_id}").is_dir()  # rolling: one folder of files per driver

    deadline = time.monotonic() + 40  # the server looks at its folder every 10 s
    attempts: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        apps = {app["id"]: app for app in history.applications()}
        attempts = apps.get(app_id, {}).get("attempts", [])
        if attempts and attempts[0].get("completed"):
            break
        time.sleep(1)
    assert attempts, f"{app_id} did not show up in {history.url}/api/v1/applications"
    assert attempts[0]["completed"] is True
