"""The local Spark standalone cluster: what runs, with which secrets where, and its supervisor."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from lakehouse.config import Settings
from lakehouse.runtime import spark_cluster
from lakehouse.runtime.airflow_stack import airflow_env
from lakehouse.runtime.stack import LocalStack, ensure_credentials


def cluster_settings(tmp_path: Path, workers: str = "2") -> Settings:
    return Settings.from_env({"LAKEHOUSE_HOME": str(tmp_path), "LAKEHOUSE_SPARK_WORKERS": workers})


def test_local_mode_starts_no_cluster(tmp_path: Path) -> None:
    creds = ensure_credentials(tmp_path / "credentials.env")
    settings = Settings.from_env({"LAKEHOUSE_HOME": str(tmp_path)})

    assert spark_cluster.cluster_specs(settings, creds, {}) == []
    env = airflow_env(settings, "demo", creds, tmp_path / "airflow", tmp_path / "p.json")
    assert json.loads(env["AIRFLOW_CONN_SPARK_DEFAULT"])["host"] == "local[2]"
    assert "SPARK_CONF_DIR" not in env


def test_workers_join_a_master_on_loopback_and_no_secret_is_on_a_command_line(
    tmp_path: Path,
) -> None:
    creds = ensure_credentials(tmp_path / "credentials.env")
    settings = cluster_settings(tmp_path)

    specs = {spec.name: spec for spec in LocalStack(settings).specs(creds)}

    assert [name for name in specs if name.startswith("spark-")] == [
        "spark-master",
        "spark-worker-1",
        "spark-worker-2",
        "spark-history",  # runs in local mode too (runtime.spark_history)
    ]
    worker = specs["spark-worker-2"]
    argv = list(worker.argv)
    assert argv[argv.index("--") + 1 :][1:3] == [
        "org.apache.spark.deploy.worker.Worker",
        "spark://127.0.0.1:7077",
    ]
    assert argv[argv.index("--webui-port") + 1] == "8083"
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    assert worker.env["SPARK_LOCAL_IP"] == "127.0.0.1"
    # Executors reach the lake with the pipeline's key, never the root key.
    assert worker.env["AWS_ACCESS_KEY_ID"] == creds["LAKEHOUSE_S3_ACCESS_KEY"]
    for spec in specs.values():
        line = " ".join(spec.argv)
        for secret in ("SPARK_AUTH_SECRET", "LAKEHOUSE_S3_SECRET_KEY", "MINIO_ROOT_PASSWORD"):
            assert creds[secret] not in line, (spec.name, secret)

    env = airflow_env(settings, "demo", creds, tmp_path / "airflow", tmp_path / "p.json")
    assert json.loads(env["AIRFLOW_CONN_SPARK_DEFAULT"])["host"] == "spark://127.0.0.1:7077"
    assert env["SPARK_CONF_DIR"] == str(spark_cluster.conf_dir(tmp_path))


def test_the_cluster_secret_sits_in_a_private_conf(tmp_path: Path) -> None:
    folder = spark_cluster.write_conf(tmp_path, "s3cret-value-123")

    conf = folder / "spark-defaults.conf"
    lines = dict(line.split(" ", 1) for line in conf.read_text().splitlines() if line[:1] != "#")
    assert lines["spark.authenticate"] == "true"
    assert lines["spark.authenticate.secret"] == "s3cret-value-123"
    assert lines["spark.ui.killEnabled"] == "false"
    assert lines["spark.master.rest.enabled"] == "false"
    assert conf.stat().st_mode & 0o777 == 0o600
    assert folder.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("workers", ["-1", "17", "two"])
def test_a_bad_worker_count_is_refused_by_name(tmp_path: Path, workers: str) -> None:
    with pytest.raises(ValueError, match="LAKEHOUSE_SPARK_WORKERS"):
        cluster_settings(tmp_path, workers)


def test_the_supervisor_restarts_what_dies_and_stops_on_sigterm(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = (
        f"import os, time; open({str(pids)!r}, 'a').write(f'{{os.getpid()}}\\n'); time.sleep(60)"
    )
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "lakehouse.runtime.supervise", "sleeper", "--",
         sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )  # fmt: skip
    try:
        first = wait_for_pids(pids, 1)[0]
        os.kill(first, signal.SIGKILL)
        second = wait_for_pids(pids, 2)[1]
        assert second != first and psutil.pid_exists(second)

        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=10) == 0  # it waited for its command to end
        assert not psutil.pid_exists(second)
        time.sleep(3)  # longer than the restart delay: nothing comes back
        assert len(pids.read_text().split()) == 2
    finally:
        supervisor.kill()


def wait_for_pids(path: Path, count: int, timeout: float = 15.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and len(found := path.read_text().split()) >= count:
            return [int(pid) for pid in found]
        time.sleep(0.1)
    raise AssertionError(f"{count} processes did not start within {timeout}s")
