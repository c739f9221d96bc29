"""Airflow's PostgreSQL asks every connection for a password, and Airflow's role is no superuser.

Runs the embedded PostgreSQL the way the stack does: a new cluster, and one made by an older
version that trusted every local connection and let Airflow use the superuser.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse.runtime import postgres
from lakehouse.runtime.processes import ProcessManager, free_port

pytestmark = pytest.mark.integration

SUPERUSER_PASSWORD = "super-Secret-1"
AIRFLOW_PASSWORD = "airflow-Secret-2"


def run_psql(
    port: int, user: str, sql: str, password: str | None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    if password is not None:
        env["PGPASSWORD"] = password
    return subprocess.run(
        [str(postgres.postgres_bin() / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", user,
         "-d", postgres.AIRFLOW_DATABASE, "-w", "-tAq", "-c", sql],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


class Cluster:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.data = home / "pgdata"
        self.port = free_port()
        self.processes = ProcessManager(home / "run", home / "logs")

    def start(self) -> None:
        self.processes.start(postgres.postgres_spec(self.data, self.port, dict(os.environ)))

    def stop(self) -> None:
        self.processes.stop("postgres")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path)
    try:
        yield cluster
    finally:
        cluster.stop()


def secure_and_create(cluster: Cluster) -> None:
    postgres.secure(cluster.data, cluster.port, SUPERUSER_PASSWORD)
    postgres.ensure_database(
        cluster.port, SUPERUSER_PASSWORD, postgres.AIRFLOW_ROLE, postgres.AIRFLOW_DATABASE,
        AIRFLOW_PASSWORD,
    )  # fmt: skip


def assert_closed(cluster: Cluster) -> None:
    for user in (postgres.SUPERUSER, postgres.AIRFLOW_ROLE):
        refused = run_psql(cluster.port, user, "select 1", password=None)
        assert refused.returncode != 0, f"{user} connected without a password"
        assert "password" in refused.stderr, refused.stderr
        wrong = run_psql(cluster.port, user, "select 1", password="not-it")
        assert wrong.returncode != 0 and "password authentication failed" in wrong.stderr
    airflow = run_psql(
        cluster.port,
        postgres.AIRFLOW_ROLE,
        "select rolsuper, rolcreatedb, rolcreaterole from pg_roles where rolname = current_user;"
        "select pg_get_userbyid(datdba) from pg_database where datname = current_database()",
        password=AIRFLOW_PASSWORD,
    )
    assert airflow.returncode == 0, airflow.stderr
    assert airflow.stdout.split() == ["f|f|f", postgres.AIRFLOW_ROLE]


def test_a_new_cluster_needs_passwords_and_airflow_is_no_superuser(cluster: Cluster) -> None:
    postgres.init_postgres(cluster.data, SUPERUSER_PASSWORD)
    cluster.start()
    secure_and_create(cluster)
    secure_and_create(cluster)  # every `lakehouse up` runs it again

    assert_closed(cluster)
    created = run_psql(
        cluster.port, postgres.AIRFLOW_ROLE, "create table t (id int); select 1", AIRFLOW_PASSWORD
    )
    assert created.returncode == 0 and created.stdout.strip() == "1", created.stderr


def test_a_trusting_cluster_of_an_older_version_is_closed_and_handed_to_airflow(
    cluster: Cluster,
) -> None:
    cluster.data.mkdir()
    user = postgres.system_user()
    if user is not None:
        postgres._hand_over(cluster.data, user)
    subprocess.run(
        [str(postgres.postgres_bin() / "initdb"), "-D", str(cluster.data), "--auth=trust",
         "-U", postgres.SUPERUSER],
        user=user, capture_output=True, check=True,
    )  # fmt: skip
    cluster.start()
    # What the older version left: a superuser-owned database with Airflow's tables in it.
    old = [str(postgres.postgres_bin() / "psql"), "-h", "127.0.0.1", "-p", str(cluster.port),
           "-U", postgres.SUPERUSER, "-tAq", "-v", "ON_ERROR_STOP=1"]  # fmt: skip
    subprocess.run([*old, "-c", "CREATE DATABASE airflow"], check=True, capture_output=True)
    subprocess.run(
        [*old, "-d", "airflow", "-c",
         "CREATE TYPE state AS ENUM ('ok'); CREATE TABLE dag_run (id serial primary key, s state)"],
        check=True, capture_output=True,
    )  # fmt: skip

    secure_and_create(cluster)

    assert_closed(cluster)
    # Airflow's migrations alter its tables: the role must own them, their sequences and types.
    altered = run_psql(
        cluster.port,
        postgres.AIRFLOW_ROLE,
        "alter table dag_run add column note text; alter type state add value 'failed';"
        "insert into dag_run (s) values ('ok') returning id",
        AIRFLOW_PASSWORD,
    )
    assert altered.returncode == 0, altered.stderr
    assert altered.stdout.split() == ["1"]
