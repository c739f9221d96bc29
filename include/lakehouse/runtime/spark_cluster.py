"""A Spark standalone cluster as local processes: one master and N workers, from pyspark's jars.

With LAKEHOUSE_SPARK_WORKERS=N the stack starts them (pyspark ships `bin/spark-class`) and points
`spark_default` at the master, so the stream job runs on executors as it would on a real cluster.
Each runs under `lakehouse.runtime.supervise`, which restarts it when it dies.

Closed like the rest of the stack: everything binds to 127.0.0.1 (SPARK_LOCAL_IP for the web UIs,
`--host` for the RPC endpoints), the UIs cannot kill, the master's REST submission server is off,
and every connection between driver, master, workers and executors is authenticated
(`spark.authenticate`). Spark accepts a secret file only on Kubernetes, so the secret sits in a
private `spark-defaults.conf` (mode 0600) that the daemons and spark-submit read from
SPARK_CONF_DIR, never on a command line; the worker hands it to its executors through their
environment (https://spark.apache.org/docs/latest/security.html#spark-rpc-communication-protocol-between-spark-processes).
The executors reach the lake with the pipeline's key, from the workers' environment.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from lakehouse.config import Settings
from lakehouse.runtime.processes import HealthCheck, ProcessSpec, http_ok

LOCAL_IP = "127.0.0.1"
WORKER_CORES = 1
WORKER_MEMORY = "1g"
MASTER = "spark-master"


def spark_home() -> Path:
    """pyspark's own folder: its `bin/spark-class` and `jars/` are a Spark distribution."""
    import pyspark

    return Path(pyspark.__file__).parent


def master_url(settings: Settings) -> str:
    return f"spark://{LOCAL_IP}:{settings.ports.spark_master}"


def conf_dir(home: Path) -> Path:
    return home / "spark" / "conf"


def write_conf(home: Path, secret: str) -> Path:
    """The private spark-defaults.conf that master, workers and spark-submit all read."""
    folder = conf_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    path = folder / "spark-defaults.conf"
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(
        "# Written by `lakehouse up`; keep it private.\n"
        "spark.authenticate true\n"
        f"spark.authenticate.secret {secret}\n"
        "spark.ui.killEnabled false\n"
        "spark.master.rest.enabled false\n"
        # Finished applications' folders (executor logs, fetched jars) are removed after a day.
        "spark.worker.cleanup.enabled true\n"
    )
    return folder


def cluster_env(home: Path, base: Mapping[str, str]) -> dict[str, str]:
    """What every member of the cluster runs with, spark-submit included."""
    return {
        **base,
        "SPARK_HOME": str(spark_home()),
        "SPARK_CONF_DIR": str(conf_dir(home)),
        "SPARK_LOCAL_IP": LOCAL_IP,
        "PYSPARK_PYTHON": sys.executable,
    }


def cluster_specs(
    settings: Settings, creds: Mapping[str, str], base: Mapping[str, str]
) -> list[ProcessSpec]:
    """The master, then the workers; empty in local mode (no workers asked for)."""
    if settings.spark_workers == 0:
        return []
    ports = settings.ports
    env = cluster_env(settings.home, base)
    spark_class = str(spark_home() / "bin" / "spark-class")
    master_ui = f"http://{LOCAL_IP}:{ports.spark_master_ui}"
    specs = [
        ProcessSpec(
            name=MASTER,
            argv=supervised(
                MASTER,
                [
                    spark_class,
                    "org.apache.spark.deploy.master.Master",
                    "--host",
                    LOCAL_IP,
                    "--port",
                    str(ports.spark_master),
                    "--webui-port",
                    str(ports.spark_master_ui),
                ],
            ),
            env=env,
            health=lambda: http_ok(f"{master_ui}/json/"),
            url=master_ui,
            ports=(ports.spark_master, ports.spark_master_ui),
        )
    ]
    worker_env = {
        **env,
        # Executors inherit the worker's environment: s3a's default credential chain reads it.
        "AWS_ACCESS_KEY_ID": creds["LAKEHOUSE_S3_ACCESS_KEY"],
        "AWS_SECRET_ACCESS_KEY": creds["LAKEHOUSE_S3_SECRET_KEY"],
    }
    for index in range(settings.spark_workers):
        name = f"spark-worker-{index + 1}"
        ui_port = ports.spark_worker_ui + index
        specs.append(
            ProcessSpec(
                name=name,
                argv=supervised(
                    name,
                    [
                        spark_class,
                        "org.apache.spark.deploy.worker.Worker",
                        master_url(settings),
                        "--host",
                        LOCAL_IP,
                        "--webui-port",
                        str(ui_port),
                        "--cores",
                        str(WORKER_CORES),
                        "--memory",
                        WORKER_MEMORY,
                        "--work-dir",
                        str(settings.home / "spark" / "work" / name),
                    ],
                ),
                env=worker_env,
                health=_worker_registered(master_ui, ui_port),
                url=f"http://{LOCAL_IP}:{ui_port}",
                ports=(ui_port,),
            )
        )
    return specs


def alive_workers(master_ui: str) -> list[dict[str, object]]:
    """The workers the master counts as ALIVE, from its JSON view."""
    import requests

    try:
        state = requests.get(f"{master_ui}/json/", timeout=3).json()
    except (requests.RequestException, ValueError):
        return []
    return [worker for worker in state.get("workers", []) if worker.get("state") == "ALIVE"]


def _worker_registered(master_ui: str, ui_port: int) -> HealthCheck:
    """Healthy once the master counts this worker (by its UI address) as ALIVE."""
    address = f"http://{LOCAL_IP}:{ui_port}"
    return lambda: any(worker.get("webuiaddress") == address for worker in alive_workers(master_ui))


def supervised(name: str, argv: list[str]) -> list[str]:
    """`argv` under `lakehouse.runtime.supervise`, which restarts it when it dies."""
    return [sys.executable, "-m", "lakehouse.runtime.supervise", name, "--", *argv]
