"""The `lakehouse` command: run the local stack, query the tables, serve the API simulator."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lakehouse.config import Settings

EXIT_FAILURE = 1


def _up(settings: Settings, args: argparse.Namespace) -> int:
    from lakehouse.runtime.install import InstallError
    from lakehouse.runtime.processes import StartupError
    from lakehouse.runtime.stack import LocalStack

    stack = LocalStack(settings, mode="live" if args.live else "demo")
    print(f"starting the lakehouse ({stack.mode} mode) in {settings.home}")
    try:
        stack.up()
    except (InstallError, StartupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    ports = settings.ports
    print(
        f"""
The lakehouse is up.
  Airflow UI      http://127.0.0.1:{ports.airflow}  (user and password: {stack.paths.credentials},
                  AIRFLOW_ADMIN_USER / AIRFLOW_ADMIN_PASSWORD)
  MinIO console   http://127.0.0.1:{ports.minio_console}  (MINIO_ROOT_USER / MINIO_ROOT_PASSWORD)
  Spark UI        http://127.0.0.1:{ports.spark_ui}  (once the lakehouse_stream DAG runs the job)
  Query           .venv/bin/lakehouse query "select count(*) from silver.coin_prices"
  Status / stop   make status / make stop"""
    )
    return 0


def _down(settings: Settings, _: argparse.Namespace) -> int:
    from lakehouse.runtime.stack import LocalStack

    LocalStack(settings).down()
    return 0


def _status(settings: Settings, _: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from lakehouse.runtime.stack import LocalStack

    mode = LocalStack(settings).paths.mode_file
    stack = LocalStack(
        settings, mode="live" if mode.exists() and "live" in mode.read_text() else "demo"
    )
    rows = stack.status()
    if not rows:
        print("the lakehouse has not been started here yet: run `make demo`")
        return EXIT_FAILURE
    table = Table("part", "state", "memory", "url")
    for row in rows:
        colour = {"healthy": "green", "stopped": "dim", "not running": "dim"}.get(row.state, "red")
        memory = f"{row.rss_bytes / 2**20:,.0f} MiB" if row.rss_bytes else ""
        table.add_row(row.name, f"[{colour}]{row.state}[/]", memory, row.url)
    total = sum(row.rss_bytes for row in rows)
    table.add_row("total", "", f"{total / 2**30:.2f} GiB", "")
    Console().print(table)
    return 0


def _query(settings: Settings, args: argparse.Namespace) -> int:
    from lakehouse.query import (
        QueryError,
        delta_storage_options,
        format_rows,
        open_lake,
        run_query,
    )

    lake_root = args.lake or settings.lake.uri("")
    storage = {} if args.lake else delta_storage_options(settings.lake)
    try:
        columns, rows = run_query(args.sql, open_lake(lake_root.rstrip("/"), storage))
    except QueryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    print(format_rows(columns, rows, args.format))
    return 0


def _simulate(settings: Settings, args: argparse.Namespace) -> int:
    from lakehouse.simulator.app import serve

    serve(args.host, args.port or settings.ports.simulator)
    return 0


def _install(settings: Settings, _: argparse.Namespace) -> int:
    from lakehouse.runtime import install

    try:
        print(f"minio: {install.ensure_minio(settings.tools_dir)}")
        print(f"spark jars: {install.ensure_spark_jars(settings.tools_dir)}")
    except install.InstallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lakehouse", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="install what is missing and start the local stack")
    up.add_argument("--live", action="store_true", help="collect from the real APIs, no simulator")
    up.set_defaults(run=_up)

    commands.add_parser(
        "install", help="build MinIO and resolve the Spark jars into .tools/ (once)"
    ).set_defaults(run=_install)
    commands.add_parser("down", help="stop everything `up` started").set_defaults(run=_down)
    commands.add_parser("status", help="health of each part").set_defaults(run=_status)

    query = commands.add_parser("query", help="run SQL on the Delta tables (delta-rs + DuckDB)")
    query.add_argument("sql", help='e.g. "select * from silver.coin_prices limit 5"')
    query.add_argument("--format", choices=("table", "csv", "json"), default="table")
    query.add_argument("--lake", help="a local lake folder instead of the configured bucket")
    query.set_defaults(run=_query)

    simulate = commands.add_parser("simulate", help="serve the offline API simulator")
    simulate.add_argument("--host", default="127.0.0.1")
    simulate.add_argument("--port", type=int, help="default: LAKEHOUSE_SIMULATOR_PORT or 8090")
    simulate.set_defaults(run=_simulate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return int(args.run(settings, args))


if __name__ == "__main__":
    sys.exit(main())
