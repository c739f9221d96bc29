"""Each part of the local stack gets its own secret, and Airflow none of the runtime's root keys."""

from __future__ import annotations

import json
from pathlib import Path

from lakehouse.config import Settings, read_env_file
from lakehouse.runtime.airflow_stack import airflow_env, airflow_specs
from lakehouse.runtime.stack import LocalStack, ensure_credentials, generate_credentials


def test_an_older_credentials_file_gets_the_missing_secrets_and_keeps_its_own(
    tmp_path: Path,
) -> None:
    path = tmp_path / "credentials.env"
    path.write_text("# older\nMINIO_ROOT_USER=old-root\nMINIO_ROOT_PASSWORD=old-secret\n")

    creds = ensure_credentials(path)

    assert creds["MINIO_ROOT_USER"] == "old-root"
    assert creds["MINIO_ROOT_PASSWORD"] == "old-secret"
    assert set(creds) == set(generate_credentials())
    assert read_env_file(path) == creds
    assert ensure_credentials(path) == creds  # the next run changes nothing
    assert path.stat().st_mode & 0o777 == 0o600


def test_stop_and_status_see_every_part_with_the_credentials_of_an_older_version(
    tmp_path: Path,
) -> None:
    """`make stop` right after an upgrade: the running stack's file lacks the newer parts'
    secrets (the metastore's, here), and stopping must not fail on it."""
    home = tmp_path / "home"
    current = ensure_credentials(home / "credentials.env")
    older = {k: v for k, v in current.items() if k != "METASTORE_DB_PASSWORD"}
    (home / "credentials.env").write_text("".join(f"{k}={v}\n" for k, v in older.items()))
    stack = LocalStack(Settings.from_env({"LAKEHOUSE_HOME": str(home)}))

    stopped: list[str] = []
    stack.down(echo=stopped.append)  # nothing runs: nothing is stopped, and nothing fails
    parts = [row.name for row in stack.status()]

    assert stopped == [] and "postgres" in parts and "airflow-scheduler" in parts
    assert (
        read_env_file(home / "credentials.env")["MINIO_ROOT_PASSWORD"]
        == older["MINIO_ROOT_PASSWORD"]
    )


def test_airflow_gets_the_pipeline_key_and_its_own_database_role(tmp_path: Path) -> None:
    creds = ensure_credentials(tmp_path / "credentials.env")
    settings = Settings.from_env({"LAKEHOUSE_HOME": str(tmp_path)})

    env = airflow_env(settings, "demo", creds, tmp_path / "airflow", tmp_path / "passwords.json")

    lake = json.loads(env["AIRFLOW_CONN_LAKE_S3"])
    assert (lake["login"], lake["password"]) == (
        creds["LAKEHOUSE_S3_ACCESS_KEY"],
        creds["LAKEHOUSE_S3_SECRET_KEY"],
    )
    assert creds["MINIO_ROOT_PASSWORD"] not in json.dumps(env)
    assert creds["POSTGRES_SUPERUSER_PASSWORD"] not in json.dumps(env)
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith(
        f"postgresql+psycopg2://airflow:{creds['AIRFLOW_DB_PASSWORD']}@127.0.0.1:"
    )


def test_airflow_listens_on_loopback_only(tmp_path: Path) -> None:
    creds = ensure_credentials(tmp_path / "credentials.env")
    settings = Settings.from_env(
        {"LAKEHOUSE_HOME": str(tmp_path), "LAKEHOUSE_SCHEDULER_HEALTH_PORT": "18974"}
    )
    env = airflow_env(settings, "demo", creds, tmp_path / "airflow", tmp_path / "passwords.json")

    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert env["AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST"] == "127.0.0.1"
    assert env["AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT"] == "18974"
    assert env["AIRFLOW_VAR_LAKEHOUSE_SPARK_LOCAL_IP"] == "127.0.0.1"
    argv = {
        spec.name: list(spec.argv[1:]) for spec in airflow_specs(settings, env, Path("airflow"))
    }
    # Airflow binds its log servers to every interface: the components run without them.
    assert argv["airflow-scheduler"] == ["scheduler", "--skip-serve-logs"]
    assert argv["airflow-triggerer"] == ["triggerer", "--skip-serve-logs"]
