"""What every deployment of the lakehouse must give Airflow, and the init that both deployments run.

`lakehouse up` and docker compose describe the same deployment: the Connections, Variables and
pools that the DAGs use come from the source registry and the settings, here. Both run the same
init in Airflow's environment (`lakehouse airflow-init`: refuse placeholder secrets and missing
Connections, migrate the database, create the pools) and the same lake init (`lakehouse lake-init`:
the bucket and the pipeline's MinIO user). A test checks docker-compose.yaml against this module.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from lakehouse.config import LakeSettings, Settings
from lakehouse.sources.registry import sources

# Connections of the stream DAG; each source adds its own (`Source.conn_id`).
STREAM_CONNECTIONS = ("spark_default", "lake_s3", "lake_metastore")
# Variables the DAGs read without a default (`{{ var.value.<name> }}`).
REQUIRED_VARIABLES = (
    "lakehouse_spark_ivy_dir",
    "lakehouse_spark_logstore_jar",
    "lakehouse_spark_jdbc_jar",
)
# Values that mark a secret nobody set: .env.example's, and the common ones.
PLACEHOLDERS = ("change-me", "changeme", "change_me", "replace-me", "secret", "password")
MIN_SECRET_LENGTH = 12


class DeploymentError(RuntimeError):
    """The deployment misses something or carries a placeholder; the message names it."""


def required_connections() -> tuple[str, ...]:
    """Every Connection id the DAGs use: the stream's and one per registered source."""
    return (*STREAM_CONNECTIONS, *(source.conn_id for source in sources().values()))


def pool_slot_settings() -> dict[str, str]:
    """Each source's pool, by the setting that sizes it (`LAKEHOUSE_<SOURCE>_POOL_SLOTS`)."""
    return {source.pool_slots_variable(): source.pool for source in sources().values()}


def connection_variable(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def refuse_placeholder(name: str, value: str | None) -> None:
    """Fail, naming the variable, on a secret that is unset, short or a known placeholder."""
    if not value:
        raise DeploymentError(f"{name} is not set; set it to a generated secret")
    lowered = value.lower()
    if any(placeholder in lowered for placeholder in PLACEHOLDERS):
        raise DeploymentError(f"{name} is a placeholder ({value!r}); set it to a generated secret")
    if len(value) < MIN_SECRET_LENGTH:
        raise DeploymentError(
            f"{name} is {len(value)} characters long; a secret needs at least {MIN_SECRET_LENGTH}"
        )


def check_airflow_env(env: Mapping[str, str]) -> None:
    """Airflow's environment holds every Connection the DAGs need and no placeholder secret."""
    missing = [
        connection_variable(conn_id)
        for conn_id in required_connections()
        if connection_variable(conn_id) not in env
    ]
    missing += [
        f"AIRFLOW_VAR_{name.upper()}"
        for name in REQUIRED_VARIABLES
        if f"AIRFLOW_VAR_{name.upper()}" not in env
    ]
    if missing:
        raise DeploymentError(f"Airflow's environment lacks {', '.join(missing)}")
    for name in (
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__API__SECRET_KEY",
    ):
        refuse_placeholder(name, env.get(name))
    database = urlsplit(env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", ""))
    refuse_placeholder("the password of AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", database.password)


def airflow_init(settings: Settings, airflow: Path, env: Mapping[str, str]) -> None:
    """Check Airflow's environment, migrate its database, then create or resize the pools.

    Runs in Airflow's environment (`env`, this process's own) before any component starts.
    """
    check_airflow_env(env)
    result = subprocess.run([str(airflow), "db", "migrate"], env=dict(env), check=False)
    if result.returncode != 0:
        raise DeploymentError(f"airflow db migrate failed (exit {result.returncode})")
    ensure_pools(settings.pool_slots)


def ensure_pools(pool_slots: Mapping[str, int]) -> None:
    """One pool per API, so that collection tasks stay within each API's rate limit.

    Written through Airflow's own model, so this process needs Airflow's database settings.
    """
    from airflow.models.pool import Pool

    for name, slots in pool_slots.items():
        Pool.create_or_update_pool(
            name=name, slots=slots, description=f"calls to the {name}", include_deferred=False
        )


def lake_init(lake: LakeSettings, env: Mapping[str, str]) -> None:
    """The lake's bucket and the pipeline's MinIO user, created with MinIO's root key."""
    from lakehouse.runtime import minio

    for name in ("MINIO_ROOT_USER", "LAKEHOUSE_S3_ACCESS_KEY"):
        if not env.get(name):
            raise DeploymentError(f"{name} is not set")
    for name in ("MINIO_ROOT_PASSWORD", "LAKEHOUSE_S3_SECRET_KEY"):
        refuse_placeholder(name, env.get(name))
    if env["LAKEHOUSE_S3_ACCESS_KEY"] == env["MINIO_ROOT_USER"]:
        raise DeploymentError(
            "LAKEHOUSE_S3_ACCESS_KEY is MinIO's root user; the pipeline needs a user of its own"
        )
    minio.create_bucket(lake, env)
    minio.ensure_pipeline_user(lake, env)
