"""Airflow's part of the stack: its configuration, its four components and its setup over REST.

All configuration is environment variables (no airflow.cfg to keep in sync): the same environment
runs the components, `airflow db migrate` and `lakehouse airflow ...`. The Connections and Variables
that the DAGs read are environment variables too, so they need no database row and follow the mode.
The pools are created by `lakehouse airflow-init` (runtime.deployment), as in compose; what can
only be set once Airflow runs (unpaused DAGs) goes through its REST API.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import requests

from lakehouse.config import REPO_ROOT, Settings
from lakehouse.runtime import install, postgres, spark_cluster, spark_history
from lakehouse.runtime.processes import HealthCheck, ProcessSpec, StartupError, http_ok
from lakehouse.sources.registry import sources

if TYPE_CHECKING:
    from lakehouse.runtime.stack import Mode

STREAM_DAG = "lakehouse_stream"
HEAL_DAG = "heal_collections"
RECONCILE_DAG = "reconcile_landed_log"
AIRFLOW_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
# The key of each component in the api-server's /api/v2/monitor/health answer.
HEALTH_KEYS = {"scheduler": "scheduler", "dag-processor": "dag_processor", "triggerer": "triggerer"}


def source_connections(settings: Settings, mode: Mode) -> dict[str, dict[str, object]]:
    """The Airflow Connection of each registered source, by the variable that defines it.

    In demo mode they point at the simulator, without a key but with the same per-minute limit:
    the simulator refuses calls beyond the real API's limit, so the shared limiter paces to it.
    In live mode they point at the APIs the sources' settings name.
    """
    connections: dict[str, dict[str, object]] = {}
    for source in sources().values():
        conn = settings.sources[source.name].connection()
        if mode == "demo":
            conn = replace(
                conn,
                host=f"http://127.0.0.1:{settings.ports.simulator}{source.simulator_path}",
                password="",
            )
        connections[f"AIRFLOW_CONN_{source.conn_id.upper()}"] = conn.to_airflow()
    return connections


def dag_ids() -> tuple[str, ...]:
    """The project's DAGs: one collect DAG per registered source, the healing DAG, the landed
    log's reconciliation, the stream's."""
    return (*(source.dag_id for source in sources().values()), HEAL_DAG, RECONCILE_DAG, STREAM_DAG)


def airflow_env(
    settings: Settings, mode: Mode, creds: Mapping[str, str], home: Path, passwords: Path
) -> dict[str, str]:
    """Airflow's own variables (to lay over the stack's base environment).

    `home` is AIRFLOW_HOME; `passwords` is the simple auth manager's file (see write_passwords).
    """
    ports = settings.ports
    api_url = f"http://127.0.0.1:{ports.airflow}"
    db_password = quote(creds["AIRFLOW_DB_PASSWORD"], safe="")
    pg_url = (
        f"postgresql+psycopg2://{postgres.AIRFLOW_ROLE}:{db_password}"
        f"@127.0.0.1:{ports.postgres}/{postgres.AIRFLOW_DATABASE}"
    )
    cluster = settings.spark_workers > 0
    master = spark_cluster.master_url(settings) if cluster else "local[2]"
    connections = {
        "AIRFLOW_CONN_SPARK_DEFAULT": {"conn_type": "spark", "host": master},
        "AIRFLOW_CONN_LAKE_S3": _lake_connection(settings, creds),
        "AIRFLOW_CONN_LAKE_METASTORE": metastore_connection(settings, creds),
        **source_connections(settings, mode),
    }
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_url}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{creds['AIRFLOW_ADMIN_USER']}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__CORE__FERNET_KEY": creds["AIRFLOW__CORE__FERNET_KEY"],
        "AIRFLOW__API_AUTH__JWT_SECRET": creds["AIRFLOW__API_AUTH__JWT_SECRET"],
        "AIRFLOW__API__SECRET_KEY": creds["AIRFLOW__API__SECRET_KEY"],
        "AIRFLOW__API__BASE_URL": api_url,
        "AIRFLOW__API__PORT": str(ports.airflow),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": pg_url,
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(ports.scheduler_health),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        **{name: json.dumps(conn) for name, conn in connections.items()},
        "AIRFLOW_VAR_LAKEHOUSE_BUCKET": settings.lake.bucket,
        # Every task process of a source shares its call limiter's file here.
        "AIRFLOW_VAR_LAKEHOUSE_LIMITS_DIR": str(settings.limits),
        # ...and keeps in this spool what it fetched while the lake was unavailable.
        "AIRFLOW_VAR_LAKEHOUSE_SPOOL_DIR": str(settings.spool),
        "AIRFLOW_VAR_LAKEHOUSE_SPARK_IVY_DIR": str(install.ivy_dir(settings.tools_dir)),
        "AIRFLOW_VAR_LAKEHOUSE_SPARK_LOGSTORE_JAR": str(install.logstore_jar(settings.tools_dir)),
        "AIRFLOW_VAR_LAKEHOUSE_SPARK_JDBC_JAR": str(install.jdbc_jar(settings.tools_dir)),
        "AIRFLOW_VAR_LAKEHOUSE_SPARK_UI_PORT": str(ports.spark_ui),
        # Where the Lakehouse page links to (lakehouse_airflow.lake_page).
        "AIRFLOW_VAR_LAKEHOUSE_SPARK_UI_URL": f"http://127.0.0.1:{ports.spark_ui}",
        "AIRFLOW_VAR_LAKEHOUSE_SPARK_HISTORY_URL": f"http://127.0.0.1:{ports.spark_history}",
        "AIRFLOW_VAR_LAKEHOUSE_SPARK_LOCAL_IP": spark_cluster.LOCAL_IP,
        # The driver's event log, for the History Server (`lakehouse up` creates the folder).
        "AIRFLOW_VAR_LAKEHOUSE_SPARK_EVENT_LOG_DIR": str(
            spark_history.event_log_dir(settings.home)
        ),
        # On the cluster, spark-submit reads the cluster's private spark-defaults.conf (its secret).
        **({"SPARK_CONF_DIR": str(spark_cluster.conf_dir(settings.home))} if cluster else {}),
    }


def _lake_connection(settings: Settings, creds: Mapping[str, str]) -> dict[str, object]:
    lake = settings.lake
    return {
        "conn_type": "aws",
        # The pipeline user's key, limited to the lake's bucket; the runtime keeps the root key.
        "login": creds["LAKEHOUSE_S3_ACCESS_KEY"],
        "password": creds["LAKEHOUSE_S3_SECRET_KEY"],
        "extra": {"endpoint_url": lake.endpoint_url, "region_name": lake.region},
    }


def metastore_connection(settings: Settings, creds: Mapping[str, str]) -> dict[str, object]:
    """Spark's Hive metastore: its own database and role on the stack's PostgreSQL."""
    return {
        "conn_type": "postgres",
        "host": "127.0.0.1",
        "port": settings.ports.postgres,
        "schema": postgres.METASTORE_DATABASE,
        "login": postgres.METASTORE_ROLE,
        "password": creds["METASTORE_DB_PASSWORD"],
    }


def airflow_specs(settings: Settings, env: Mapping[str, str], airflow: Path) -> list[ProcessSpec]:
    """The four components, each run by the `airflow` command at `airflow` with `env`.

    The scheduler and the triggerer run without their log servers: Airflow binds those to every
    interface and has no setting for their address (`airflow.utils.serve_logs`). Locally the task
    logs are files under AIRFLOW_HOME that the api-server reads directly, so nothing is lost.
    """
    port = settings.ports.airflow
    component_ports = {
        "api-server": (port,),
        "scheduler": (settings.ports.scheduler_health,),
    }
    component_flags = {"scheduler": ["--skip-serve-logs"], "triggerer": ["--skip-serve-logs"]}
    specs = []
    for component in AIRFLOW_COMPONENTS:
        health: HealthCheck
        if component == "api-server":
            health = lambda: http_ok(f"http://127.0.0.1:{port}/api/v2/monitor/health")  # noqa: E731
        else:
            health = _component_healthy(port, component)
        specs.append(
            ProcessSpec(
                name=f"airflow-{component}",
                argv=[str(airflow), component, *component_flags.get(component, [])],
                env=env,
                health=health,
                url=f"http://127.0.0.1:{port}" if component == "api-server" else "",
                startup_timeout=180.0,
                stop_timeout=60.0,
                ports=component_ports.get(component, ()),
            )
        )
    return specs


def airflow_health(port: int) -> dict[str, str]:
    """Each component's status as the api-server on `port` sees it; empty if it does not answer."""
    url = f"http://127.0.0.1:{port}/api/v2/monitor/health"
    try:
        body = requests.get(url, timeout=3).json()
    except (requests.RequestException, ValueError):
        return {}
    return {part: (info or {}).get("status") or "unknown" for part, info in body.items()}


def _component_healthy(port: int, component: str) -> HealthCheck:
    """Only the api-server answers on a port of the stack's; it reports the others' heartbeats."""
    return lambda: airflow_health(port).get(HEALTH_KEYS[component]) == "healthy"


def write_passwords(path: Path, creds: Mapping[str, str]) -> None:
    """The simple auth manager reads its users' passwords from this file, not the environment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({creds["AIRFLOW_ADMIN_USER"]: creds["AIRFLOW_ADMIN_PASSWORD"]}))
    path.chmod(0o600)


def run_init(lakehouse: Path, env: Mapping[str, str], log: Path) -> None:
    """`lakehouse airflow-init` in Airflow's environment: checks, database migration, pools."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        result = subprocess.run(
            [str(lakehouse), "airflow-init"],
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if result.returncode != 0:
        raise StartupError(f"lakehouse airflow-init failed; see {log}")


def api_token(settings: Settings, creds: Mapping[str, str]) -> str:
    """A bearer token for the REST API, as the generated admin user."""
    response = requests.post(
        f"http://127.0.0.1:{settings.ports.airflow}/auth/token",
        json={
            "username": creds["AIRFLOW_ADMIN_USER"],
            "password": creds["AIRFLOW_ADMIN_PASSWORD"],
        },
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def unpause_dags(
    settings: Settings, creds: Mapping[str, str], dag_processor_log: Path, timeout: float = 120.0
) -> None:
    """Wait for the dag-processor to register the project's DAGs, then unpause them.

    A DAG that never shows up failed to import: `dag_processor_log` says why.
    """
    headers = {"Authorization": f"Bearer {api_token(settings, creds)}"}
    base = f"http://127.0.0.1:{settings.ports.airflow}/api/v2/dags"
    deadline = time.monotonic() + timeout
    pending = set(dag_ids())
    while pending and time.monotonic() < deadline:
        for dag_id in sorted(pending):
            response = requests.patch(
                f"{base}/{dag_id}", json={"is_paused": False}, headers=headers, timeout=10
            )
            if response.status_code == 200:
                pending.discard(dag_id)
        if pending:
            time.sleep(2)
    if pending:
        raise StartupError(
            f"DAGs {sorted(pending)} were not registered within {timeout:.0f}s; see "
            f"{dag_processor_log} for import errors"
        )
