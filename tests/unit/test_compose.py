"""docker-compose.yaml describes the deployment that `lakehouse up` runs, closed by default.

What the DAGs need (Connections, Variables, pools) is derived from the source registry and the DAG
files, then checked against compose as Debian's docker-compose resolves it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from lakehouse.config import REPO_ROOT
from lakehouse.runtime import spark_history
from lakehouse.runtime.deployment import (
    REQUIRED_VARIABLES,
    DeploymentError,
    check_airflow_env,
    connection_variable,
    pool_slot_settings,
    required_connections,
)
from lakehouse.sources.registry import sources

COMPOSE = REPO_ROOT / "docker-compose.yaml"
AIRFLOW_SERVICES = (
    "airflow-init",
    "airflow-api-server",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
)
# Well-formed secrets, as a user's .env would hold them.
SECRETS = {
    "POSTGRES_SUPERUSER_PASSWORD": "pg-3f9a1c0e7d2b",
    "AIRFLOW_DB_PASSWORD": "af-7e2c4a9b1d0f",
    "METASTORE_DB_PASSWORD": "ms-5a0c2e4f6b8d",
    "MINIO_ROOT_USER": "lakehouse-root",
    "MINIO_ROOT_PASSWORD": "root-8c1e5b7a9f",
    "LAKEHOUSE_S3_ACCESS_KEY": "lakehouse-pipeline",
    "LAKEHOUSE_S3_SECRET_KEY": "pipe-4d2a6e8c0b",
    "AIRFLOW_FERNET_KEY": "Yx3q0p1kGcJ2n8m6v5b4c3x2z1a0s9d8f7g6h5j4k3l=",
    "AIRFLOW_JWT_SECRET": "jwt-9b8a7c6d5e4f3a2b",
}


def docker_compose() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        pytest.fail("Debian's docker-compose is needed to validate compose (.ci/run installs it)")
    return found


def resolve(compose: Path, env: dict[str, str], *profiles: str) -> subprocess.CompletedProcess[str]:
    """`docker-compose config`: the file validated and interpolated, as compose would run it."""
    argv = [docker_compose(), "-f", str(compose), "--project-directory", str(REPO_ROOT)]
    argv += [arg for profile in profiles for arg in ("--profile", profile)]
    clean = {"PATH": "/usr/local/bin:/usr/bin:/bin", **env}
    return subprocess.run([*argv, "config"], env=clean, capture_output=True, text=True)


def resolved(compose: Path = COMPOSE, *profiles: str) -> dict[str, Any]:
    result = resolve(compose, SECRETS, *profiles)
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def dag_needs() -> tuple[set[str], set[str]]:
    """The Connection ids and default-less Variables that the DAG files name."""
    text = "\n".join(path.read_text() for path in (REPO_ROOT / "dags").glob("*.py"))
    connections = set(re.findall(r"conn_id=\"(\w+)\"", text))
    connections |= set(re.findall(r"\{\{ conn\.(\w+)\.", text))
    variables = set(re.findall(r"var\.value\.(?!get\b)(\w+)", text))
    return connections, variables


def published_address(port: str | dict[str, Any]) -> str | None:
    """The host address of a published port, in either of docker-compose's notations."""
    if isinstance(port, dict):
        return port.get("host_ip")
    parts = str(port).split(":")
    return parts[0] if len(parts) == 3 else None


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Each volume's source by its target, in either of docker-compose's notations."""
    found = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            found[str(volume.get("target"))] = str(volume.get("source"))
        else:
            source, target = str(volume).split(":")[:2]
            found[target] = source
    return found


def history_problems(services: dict[str, Any]) -> list[str]:
    """What spark-history lacks of the local stack's History Server (runtime.spark_history)."""
    folder = (
        services["airflow-scheduler"]
        .get("environment", {})
        .get("AIRFLOW_VAR_LAKEHOUSE_SPARK_EVENT_LOG_DIR")
    )
    history = services.get("spark-history")
    if folder is None or history is None:
        return ["no spark-history, or no AIRFLOW_VAR_LAKEHOUSE_SPARK_EVENT_LOG_DIR for it to read"]
    problems = []
    env = history.get("environment", {})
    options = str(env.get("SPARK_HISTORY_OPTS", "")).split()
    settings = dict(option.removeprefix("-D").split("=", 1) for option in options)
    expected = spark_history.history_conf(f"file://{folder}", 18080)
    for key, value in expected.items():
        if settings.get(key) != value:
            problems.append(f"spark-history: {key} is {settings.get(key)!r}, not {value!r}")
    if env.get("SPARK_DAEMON_MEMORY") != spark_history.DAEMON_MEMORY:
        problems.append(f"spark-history: SPARK_DAEMON_MEMORY is not {spark_history.DAEMON_MEMORY}")
    # The driver runs in the scheduler's task: the server must see the folder it writes.
    volumes = {
        name: mounts(services[name]).get(folder) for name in ("airflow-scheduler", "spark-history")
    }
    if None in volumes.values() or len(set(volumes.values())) != 1:
        problems.append(f"the scheduler and spark-history share no volume at {folder}: {volumes}")
    return problems


def compose_problems(config: dict[str, Any]) -> list[str]:
    """What compose lacks of the deployment; empty when it matches."""
    problems = []
    services = config["services"]
    for name in AIRFLOW_SERVICES:
        env = services[name].get("environment", {})
        for conn_id in required_connections():
            if connection_variable(conn_id) not in env:
                problems.append(f"{name}: no {connection_variable(conn_id)}")
        for variable in REQUIRED_VARIABLES:
            if f"AIRFLOW_VAR_{variable.upper()}" not in env:
                problems.append(f"{name}: no AIRFLOW_VAR_{variable.upper()}")
        for setting in pool_slot_settings():
            if setting not in env:
                problems.append(f"{name}: no pool size {setting}")
        try:
            check_airflow_env({k: str(v) for k, v in env.items()})
        except DeploymentError as exc:
            problems.append(f"{name}: {exc}")
    database = urlsplit(
        str(services["airflow-init"]["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    )
    if database.username == services["postgres"]["environment"].get("POSTGRES_USER", "postgres"):
        problems.append(f"Airflow logs in as PostgreSQL's superuser {database.username!r}")
    if services["airflow-init"].get("command") != ["lakehouse", "airflow-init"]:
        problems.append("airflow-init does not run `lakehouse airflow-init`")
    if services.get("lake-init", {}).get("command") != ["lakehouse", "lake-init"]:
        problems.append("lake-init does not run `lakehouse lake-init`")
    for name, service in services.items():
        for port in service.get("ports", []):
            if published_address(port) != "127.0.0.1":
                problems.append(f"{name} publishes port {port} beyond 127.0.0.1")
    return problems + history_problems(services)


def test_the_deployment_covers_what_the_dags_name() -> None:
    connections, variables = dag_needs()
    assert connections and variables  # the patterns still find the DAGs' uses
    assert connections <= set(required_connections())
    assert variables <= set(REQUIRED_VARIABLES)
    for source in sources().values():
        assert source.conn_id in required_connections()
        assert pool_slot_settings()[source.pool_slots_variable()] == source.pool


def test_compose_gives_airflow_what_the_dags_need_and_publishes_on_loopback_only() -> None:
    config = resolved()
    assert compose_problems(config) == []
    env = config["services"]["airflow-scheduler"]["environment"]
    for source in sources().values():  # compose's defaults are the registry's
        assert int(env[source.pool_slots_variable()]) == source.default_pool_slots
    # The simulator only runs in the demo profile, and is never published.
    simulator = config["services"]["simulator"]
    assert simulator["profiles"] == ["demo"]
    assert "ports" not in simulator


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("AIRFLOW_CONN_SMARTCITIZEN_API:", "no AIRFLOW_CONN_SMARTCITIZEN_API"),
        ("LAKEHOUSE_COINGECKO_POOL_SLOTS:", "no pool size LAKEHOUSE_COINGECKO_POOL_SLOTS"),
        ("AIRFLOW_VAR_LAKEHOUSE_SPARK_IVY_DIR:", "no AIRFLOW_VAR_LAKEHOUSE_SPARK_IVY_DIR"),
        # The History Server must read the driver's event logs, with its cleaner on.
        ("- spark-events:/var/lib/lakehouse/spark-events", "share no volume"),
        ("-Dspark.history.fs.cleaner.enabled=true", "spark.history.fs.cleaner.enabled is None"),
        ("AIRFLOW_VAR_LAKEHOUSE_SPARK_EVENT_LOG_DIR:", "no AIRFLOW_VAR_LAKEHOUSE_SPARK_EVENT_LOG"),
    ],
)
def test_a_compose_missing_a_connection_pool_or_history_setting_fails(
    tmp_path: Path, line: str, problem: str
) -> None:
    text = COMPOSE.read_text()
    assert line in text
    broken = tmp_path / "docker-compose.yaml"
    broken.write_text("\n".join(row for row in text.splitlines() if line not in row) + "\n")

    problems = compose_problems(resolved(broken))

    assert any(problem in found for found in problems), problems


def test_airflow_as_postgres_superuser_fails(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yaml"
    broken.write_text(
        COMPOSE.read_text().replace("POSTGRES_USER: postgres", "POSTGRES_USER: airflow")
    )

    problems = compose_problems(resolved(broken))

    assert "Airflow logs in as PostgreSQL's superuser 'airflow'" in problems


def test_a_published_port_on_every_interface_fails(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yaml"
    broken.write_text(COMPOSE.read_text().replace("${LAKEHOUSE_PUBLISH_ADDRESS:-127.0.0.1}:", ""))

    problems = compose_problems(resolved(broken))

    assert any("airflow-api-server publishes port" in found for found in problems), problems


def test_compose_refuses_to_start_without_its_secrets() -> None:
    for name in SECRETS:
        result = resolve(COMPOSE, {k: v for k, v in SECRETS.items() if k != name})
        assert result.returncode != 0, name
        assert f"set {name} in .env" in result.stderr, (name, result.stderr[-300:])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("change-me", "placeholder"),
        ("change-me-too", "placeholder"),
        ("", "not set"),
        ("short", "at least 12"),
    ],
)
def test_the_init_refuses_placeholder_secrets(value: str, message: str) -> None:
    env = {k: str(v) for k, v in resolved()["services"]["airflow-init"]["environment"].items()}
    env["AIRFLOW__CORE__FERNET_KEY"] = value

    with pytest.raises(DeploymentError, match=message) as caught:
        check_airflow_env(env)
    assert "AIRFLOW__CORE__FERNET_KEY" in str(caught.value)
