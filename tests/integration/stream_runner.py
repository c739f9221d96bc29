"""Run jobs/lakehouse_stream.py under spark-submit as the DAG does (client mode, local master).

`lake` is a local folder or an `s3a://` URI; for S3 pass `--s3-endpoint` among the job's
arguments and the keys in `extra_env` (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, as the DAG does).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from lakehouse.config import REPO_ROOT, Settings
from lakehouse.runtime import install
from lakehouse.spark.packages import SPARK_EXCLUDED_PACKAGES, SPARK_PACKAGES, logstore_conf

JOB = REPO_ROOT / "jobs" / "lakehouse_stream.py"


def argv(lake: Path | str, *args: str, app: Path = JOB) -> list[str]:
    """spark-submit of `app` (default: the stream job) on the local lake folder `lake`."""
    tools = Settings.from_env().tools_dir
    jar = install.ensure_logstore_jar(tools)  # also resolves the packages into the Ivy cache
    logstore = [arg for k, v in logstore_conf().items() for arg in ("--conf", f"{k}={v}")]
    return [
        str(Path(sys.executable).parent / "spark-submit"),
        "--master", "local[2]",
        "--conf", f"spark.jars.ivy={install.ivy_dir(tools)}",
        "--conf", "spark.ui.enabled=false",
        "--conf", "spark.sql.shuffle.partitions=2",
        *logstore,
        "--driver-memory", "1g",
        "--packages", ",".join(SPARK_PACKAGES),
        "--exclude-packages", ",".join(SPARK_EXCLUDED_PACKAGES),
        "--jars", str(jar),
        # As the DAG: the metastore's JDBC driver, used when LAKEHOUSE_METASTORE_URL is set.
        "--driver-class-path", str(install.ensure_jdbc_jar(tools)),
        str(app),
        "--lake-uri", str(lake),
        *args,
    ]  # fmt: skip


def env(extra_env: Mapping[str, str] | None = None) -> dict[str, str]:
    bin_dir = Path(sys.executable).parent
    path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    return {**os.environ, "PATH": path, **(extra_env or {})}


def run(
    lake: Path | str,
    *args: str,
    timeout: float = 600,
    extra_env: Mapping[str, str] | None = None,
    app: Path = JOB,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv(lake, *args, app=app), env=env(extra_env), capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip


def start(
    lake: Path | str, log: Path, *args: str, extra_env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """The job in its own process group (spark-submit, the JVM and the Python driver)."""
    with log.open("wb") as out:
        return subprocess.Popen(
            argv(lake, *args), env=env(extra_env), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def wait_for_log(proc: subprocess.Popen[bytes], log: Path, text: str, timeout: float = 180) -> bool:
    """True once `text` appears in the log; False if the process ended or time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return True
        if proc.poll() is not None:
            return text in log.read_text(errors="replace")
        time.sleep(0.2)
    return False


def tail(log: Path, chars: int = 4000) -> str:
    return log.read_text(errors="replace")[-chars:]
