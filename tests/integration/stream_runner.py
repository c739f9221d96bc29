"""Run jobs/lakehouse_stream.py under spark-submit as the DAG does (client mode, local master)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from lakehouse.config import REPO_ROOT, Settings
from lakehouse.runtime import install
from lakehouse.spark.packages import SPARK_EXCLUDED_PACKAGES, SPARK_PACKAGES, logstore_conf

JOB = REPO_ROOT / "jobs" / "lakehouse_stream.py"


def argv(lake: Path, *args: str, app: Path = JOB) -> list[str]:
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
        str(app),
        "--lake-uri", str(lake),
        *args,
    ]  # fmt: skip


def env() -> dict[str, str]:
    bin_dir = Path(sys.executable).parent
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def run(lake: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv(lake, *args), env=env(), capture_output=True, text=True, timeout=timeout, check=False
    )


def start(lake: Path, log: Path, *args: str) -> subprocess.Popen[bytes]:
    """The job in its own process group (spark-submit, the JVM and the Python driver)."""
    with log.open("wb") as out:
        return subprocess.Popen(
            argv(lake, *args), env=env(), stdout=out, stderr=subprocess.STDOUT,
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
