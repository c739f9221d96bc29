"""The `lakehouse` command: run the local stack, query the tables, serve the API simulator."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lakehouse.config import SIMULATOR_HISTORIES, SIMULATOR_PLANS, Settings

if TYPE_CHECKING:
    from datetime import datetime

    from lakehouse.raw_zone import DataInterval
    from lakehouse.runtime.stack import Mode

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
  Spark history   http://127.0.0.1:{ports.spark_history}  (every stream driver, past ones too)
  Query           .venv/bin/lakehouse query "select count(*) from silver.coin_prices"
  Status / stop   make status / make stop"""
    )
    if stack.settings.spark_workers:
        print(
            f"  Spark master    http://127.0.0.1:{ports.spark_master_ui}  "
            f"({stack.settings.spark_workers} workers; the stream runs on them)"
        )
    _print_budget(settings, stack.mode)
    return 0


def _print_budget(settings: Settings, mode: Mode) -> None:
    """Each source's monthly calls at the configured schedule, warning past its plan's credits."""
    from lakehouse.sources.budget import budget_report
    from lakehouse.sources.registry import sources

    print("\nCall budget (live schedule, 30-day month; backfills come on top):")
    if mode == "demo":
        print("  (demo mode calls the simulator: these are what `make run` would spend)")
    for name, source in sources().items():
        print(f"  {budget_report(source, settings.sources[name])}")


def _down(settings: Settings, _: argparse.Namespace) -> int:
    from lakehouse.runtime.stack import LocalStack

    LocalStack(settings).down()
    return 0


def _status(settings: Settings, _: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from lakehouse.runtime.stack import LocalStack

    stack = LocalStack(settings, mode=_running_mode(settings))
    rows = stack.status()
    if not rows:
        print("the lakehouse has not been started here yet: run `make demo`")
        _print_budget(settings, stack.mode)
        return EXIT_FAILURE
    table = Table("part", "state", "memory", "url")
    for row in rows:
        colour = {"healthy": "green", "stopped": "dim", "not running": "dim"}.get(row.state, "red")
        memory = f"{row.rss_bytes / 2**20:,.0f} MiB" if row.rss_bytes else ""
        table.add_row(row.name, f"[{colour}]{row.state}[/]", memory, row.url)
    total = sum(row.rss_bytes for row in rows)
    table.add_row("total", "", f"{total / 2**30:.2f} GiB", "")
    Console().print(table)
    _print_spool(settings)
    _print_completeness(settings)
    _print_budget(settings, stack.mode)
    return 0


def _print_completeness(settings: Settings, hours: int = 3) -> None:
    """Per source, part and hour of the last `hours`: minutes due, landed live, healed, missing."""
    from datetime import UTC, datetime

    from botocore.exceptions import BotoCoreError, ClientError
    from rich.console import Console
    from rich.table import Table

    from lakehouse.healing import HEAL_LAG
    from lakehouse.overview import completeness
    from lakehouse.raw_zone import s3_client

    now = datetime.now(UTC)
    end = (now - HEAL_LAG).replace(second=0, microsecond=0)
    table = Table("hour (UTC)", "source", "part", "due", "live", "healed", "missing",
                  title=f"Completeness of the raw zone, minutes up to {end:%H:%M} UTC")  # fmt: skip
    try:
        rows = completeness(
            s3_client(settings.lake), settings.lake.bucket, settings.sources, now, hours
        )
    except (BotoCoreError, ClientError) as exc:
        print(f"Completeness: the lake is not reachable ({exc})")
        return
    for row in rows:
        missing = f"[red]{row.missing}[/]" if row.missing else "0"
        if row.missing and not row.heals:
            missing += " (no history)"
        table.add_row(
            f"{row.hour:%Y-%m-%d %H}:00", row.source, row.part, str(row.expected),
            str(row.live), str(row.healed), missing,
        )  # fmt: skip
    Console().print(table)


def _print_spool(settings: Settings) -> None:
    """What the collections fetched while the lake was unavailable, waiting to land."""
    from lakehouse.spool import Spool

    held = Spool(settings.spool, settings.spool_max_mb).contents()
    state = "empty" if not held.objects else f"{held.objects} objects waiting to land"
    print(
        f"Spool {settings.spool}: {state} "
        f"({held.bytes / 2**20:,.1f} of {settings.spool_max_mb:,} MiB)"
    )


def _airflow(settings: Settings, args: argparse.Namespace) -> int:
    """The airflow CLI with the local stack's settings (database, connections, secrets)."""
    import os

    from lakehouse.config import read_env_file
    from lakehouse.runtime.stack import LocalStack

    stack = LocalStack(settings, mode=_running_mode(settings))
    creds = read_env_file(stack.paths.credentials)
    if not creds:
        print(
            "error: the lakehouse has not been started here yet: run `make demo`", file=sys.stderr
        )
        return EXIT_FAILURE
    airflow = str(stack.venv_bin / "airflow")
    os.execve(airflow, [airflow, *args.airflow_args], stack.airflow_env(creds))


def _airflow_init(settings: Settings, _: argparse.Namespace) -> int:
    import os

    from lakehouse.runtime.deployment import DeploymentError, airflow_init

    try:
        airflow_init(settings, _venv_bin() / "airflow", os.environ)
    except DeploymentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"Airflow's database is migrated; pools: {dict(settings.pool_slots)}")
    return 0


def _lake_init(settings: Settings, _: argparse.Namespace) -> int:
    import os

    from lakehouse.runtime.deployment import DeploymentError, lake_init

    try:
        lake_init(settings.lake, os.environ)
    except DeploymentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"bucket {settings.lake.bucket} and its pipeline user are ready")
    return 0


def _venv_bin() -> Path:
    return Path(sys.executable).parent


def _running_mode(settings: Settings) -> Mode:
    """The mode the stack was started in (`make run` is live), demo if it is not running."""
    from lakehouse.runtime.stack import Paths

    mode_file = Paths(settings.home).mode_file
    return "live" if mode_file.exists() and mode_file.read_text().strip() == "live" else "demo"


def _query(settings: Settings, args: argparse.Namespace) -> int:
    from lakehouse.query import QueryError, format_rows, open_lake, run_query

    lake_root, storage = _lake_location(settings, args)
    try:
        columns, rows = run_query(args.sql, open_lake(lake_root, storage, as_of=args.as_of))
    except QueryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    print(format_rows(columns, rows, args.format))
    return 0


def _spark_sql(settings: Settings, args: argparse.Namespace) -> int:
    """SQL on the tables by name through Spark and the Hive metastore (`lakehouse.spark.spark_sql`);
    `--shell` opens Python with `spark` bound to the same session instead."""
    import os

    from lakehouse.query import format_rows
    from lakehouse.spark.spark_sql import SparkSqlError, metastore_env, open_session, run_sql

    if not args.shell and not args.sql:
        print("error: give the SQL to run, or --shell", file=sys.stderr)
        return EXIT_FAILURE
    try:
        spark = open_session(settings, metastore_env(settings, os.environ), args.master)
    except SparkSqlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    try:
        if args.shell:
            import code

            code.interact(
                banner="`spark` is a session on the lake's tables by name", local={"spark": spark}
            )
            return 0
        columns, rows = run_sql(spark, args.sql)
    except SparkSqlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        spark.stop()
    print(format_rows(columns, rows, args.format))
    return 0


def _tables(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from lakehouse.catalog import describe_tables
    from lakehouse.query import format_rows

    lake_root, storage = _lake_location(settings, args)
    now = datetime.now(UTC)
    columns = ["table", "version", "last_commit", "operation", "rows", "files", "mib", "age_s"]
    rows = [
        (
            info.name,
            info.version,
            info.last_commit,
            info.last_operation,
            info.rows,
            info.files,
            round(info.size_bytes / 2**20, 2),
            round(info.age(now).total_seconds()),
        )
        for info in describe_tables(lake_root, storage)
    ]
    print(format_rows(columns, rows, args.format))
    return 0


def _history(settings: Settings, args: argparse.Namespace) -> int:
    import json

    from lakehouse.catalog import UnknownTable, table_history
    from lakehouse.query import format_rows

    lake_root, storage = _lake_location(settings, args)
    try:
        commits = table_history(lake_root, args.table, storage, args.limit)
    except UnknownTable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    columns = ["version", "timestamp", "operation", "metrics"]
    rows = [
        (c["version"], c["timestamp"], c["operation"], json.dumps(c["metrics"], sort_keys=True))
        for c in commits
    ]
    print(format_rows(columns, rows, args.format))
    return 0


def _lake_location(settings: Settings, args: argparse.Namespace) -> tuple[str, dict[str, str]]:
    """The lake's root and object-store options: --lake's local folder, or the bucket."""
    from lakehouse.query import delta_storage_options

    if args.lake:
        return str(args.lake).rstrip("/"), {}
    return settings.lake.uri("").rstrip("/"), delta_storage_options(settings.lake)


def _as_of(text: str) -> int | datetime:
    """--as-of: a Delta version (a whole number) or an ISO 8601 time."""
    from datetime import UTC, datetime

    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a version number nor an ISO 8601 time"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _simulate(settings: Settings, args: argparse.Namespace) -> int:
    from dataclasses import replace

    from lakehouse.simulator.app import injector_from_settings, serve

    given = {
        "faults": ",".join(args.fault) if args.fault else None,
        "fault_seed": args.fault_seed,
        "retry_after": args.retry_after,
        "slow_seconds": args.slow_seconds,
        "coingecko_plan": args.coingecko_plan,
        "coingecko_rate_limit": args.coingecko_rate_limit,
        "smartcitizen_rate_limit": args.smartcitizen_rate_limit,
        "history": args.history,
    }
    try:
        sim = replace(settings.simulator, **{k: v for k, v in given.items() if v is not None})
        injector_from_settings(sim)  # a bad fault spec or setting stops here, with its reason
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    serve(args.host, args.port or settings.ports.simulator, sim)
    return 0


def _collect(settings: Settings, args: argparse.Namespace) -> int:
    """One collection run, the same code as the Airflow task, with the source's settings from the
    environment (e.g. COINGECKO_*, SMARTCITIZEN_*) and the lake's LAKEHOUSE_S3_*."""
    import logging
    from datetime import UTC, datetime

    from botocore.exceptions import BotoCoreError, ClientError

    from lakehouse.collect import CollectionFailed, run_collection
    from lakehouse.landed_log import LandedLog
    from lakehouse.raw_zone import RawZoneWriter, s3_client
    from lakehouse.sources.http import ApiError
    from lakehouse.sources.registry import get_source
    from lakehouse.spool import Spool, SpoolFull

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    now = datetime.now(UTC)
    try:
        source = get_source(args.source)
        source_settings = settings.sources[source.name]
        conn = source_settings.connection()
        s3 = s3_client(settings.lake)
        outcome = run_collection(
            source,
            lambda limiter: source.client(conn, limiter),
            RawZoneWriter(
                s3,
                settings.lake.bucket,
                Spool(settings.spool, settings.spool_max_mb),
                LandedLog(s3, settings.lake.bucket),
            ),
            source.selection(source_settings.default_params()),
            interval=_cli_interval(args.interval_start, now),
            run_id=f"cli__{now.isoformat(timespec='seconds')}",
            now=now,
            limiter=source.call_limiter(settings.limits, conn, source_settings),
            cache_dir=settings.limits,
            history=args.history,
        )
    except (ValueError, ApiError, CollectionFailed, BotoCoreError, ClientError, SpoolFull) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    for result in outcome.results:
        print(f"{'wrote' if result.created else 'exists'} s3://{settings.lake.bucket}/{result.key}")
    for reason in outcome.skipped:
        print(f"skipped: {reason}")
    return 0


def _cli_interval(interval_start: str | None, now: datetime) -> DataInterval:
    """The one-minute interval starting at `interval_start` (UTC if no offset), or the last
    whole minute, as the scheduler's latest run."""
    from datetime import UTC, datetime, timedelta

    from lakehouse.raw_zone import DataInterval

    if interval_start:
        start = datetime.fromisoformat(interval_start)
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
    else:
        start = now - timedelta(minutes=1)
    start = start.replace(second=0, microsecond=0)
    return DataInterval(start, start + timedelta(minutes=1))


def _install(settings: Settings, _: argparse.Namespace) -> int:
    from lakehouse.runtime import install

    try:
        print(f"minio: {install.ensure_minio(settings.tools_dir)}")
        print(f"spark jars: {install.ensure_spark_jars(settings.tools_dir)}")
        print(f"delta log store: {install.ensure_logstore_jar(settings.tools_dir)}")
        print(f"metastore JDBC driver: {install.ensure_jdbc_jar(settings.tools_dir)}")
    except install.InstallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return 0


def _stream(settings: Settings, args: argparse.Namespace) -> int:
    from lakehouse.spark.control import run_cli

    return run_cli(settings.lake, args.action, args.lake, args.wait)


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

    airflow = commands.add_parser(
        "airflow", help="the airflow CLI against the local stack, e.g. `airflow backfill create`"
    )
    airflow.add_argument("airflow_args", nargs=argparse.REMAINDER, help="airflow's own arguments")
    airflow.set_defaults(run=_airflow)

    commands.add_parser(
        "airflow-init",
        help="check Airflow's environment, migrate its database, create the pools (run in "
        "Airflow's environment; `make demo` and compose's airflow-init service both run it)",
    ).set_defaults(run=_airflow_init)
    commands.add_parser(
        "lake-init",
        help="create the lake's bucket and the pipeline's MinIO user with MinIO's root key "
        "(MINIO_ROOT_USER/PASSWORD, LAKEHOUSE_S3_ACCESS_KEY/SECRET_KEY)",
    ).set_defaults(run=_lake_init)
    query = commands.add_parser("query", help="run SQL on the Delta tables (delta-rs + DuckDB)")
    query.add_argument("sql", help='e.g. "select * from silver.coin_prices limit 5"')
    query.add_argument("--format", choices=("table", "csv", "json"), default="table")
    query.add_argument("--lake", help="a local lake folder instead of the configured bucket")
    query.add_argument(
        "--as-of",
        type=_as_of,
        help="time travel: every table at this Delta VERSION, or as it was at this TIMESTAMP "
        "(ISO 8601, UTC unless it says otherwise)",
    )
    query.set_defaults(run=_query)

    spark_sql = commands.add_parser(
        "spark-sql",
        help="run Spark SQL on the tables by name (in the Hive metastore the stream fills)",
    )
    spark_sql.add_argument(
        "sql", nargs="?", help='e.g. "select count(*) from silver.coin_prices version as of 3"'
    )
    spark_sql.add_argument("--format", choices=("table", "csv", "json"), default="table")
    spark_sql.add_argument("--master", default="local[*]", help="Spark master (default local[*])")
    spark_sql.add_argument(
        "--shell", action="store_true", help="a Python shell with `spark` bound to the session"
    )
    spark_sql.set_defaults(run=_spark_sql)

    tables = commands.add_parser(
        "tables", help="every table: version, last commit, rows, files, size, freshness"
    )
    tables.add_argument("--format", choices=("table", "csv", "json"), default="table")
    tables.add_argument("--lake", help="a local lake folder instead of the configured bucket")
    tables.set_defaults(run=_tables)

    history = commands.add_parser("history", help="a table's commits, newest first")
    history.add_argument("table", help="layer.name, e.g. silver.coin_prices")
    history.add_argument("--limit", type=int, default=20, help="how many commits (default 20)")
    history.add_argument("--format", choices=("table", "csv", "json"), default="table")
    history.add_argument("--lake", help="a local lake folder instead of the configured bucket")
    history.set_defaults(run=_history)

    stream = commands.add_parser(
        "stream", help="the streaming job: stop it gracefully, allow it to start, show status"
    )
    stream.add_argument(
        "action",
        choices=("stop", "start", "status"),
        help="stop: after the current micro-batches (and keep it stopped); "
        "start: remove the stop request (Airflow restarts it); status: lease and progress",
    )
    stream.add_argument("--lake", help="a local lake folder instead of the configured bucket")
    stream.add_argument(
        "--wait", type=float, default=0.0, help="stop: wait up to this many seconds for the exit"
    )
    stream.set_defaults(run=_stream)

    _add_simulate(commands)
    _add_collect(commands)
    return parser


def _add_simulate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    simulate = commands.add_parser("simulate", help="serve the offline API simulator")
    simulate.add_argument("--host", default="127.0.0.1")
    simulate.add_argument("--port", type=int, help="default: LAKEHOUSE_SIMULATOR_PORT or 8090")
    simulate.add_argument(
        "--fault",
        action="append",
        metavar="KIND=P",
        help="inject a fault into a share P of requests (repeatable); kinds: 429, 500, slow, "
        "malformed, html, drift; default: LAKEHOUSE_SIMULATOR_FAULTS",
    )
    simulate.add_argument("--fault-seed", type=int, help="seed of the fault draws")
    simulate.add_argument("--retry-after", type=int, help="seconds a 429 asks to wait")
    simulate.add_argument("--slow-seconds", type=float, help="how late a slow answer comes")
    simulate.add_argument(
        "--coingecko-plan",
        choices=SIMULATOR_PLANS,
        help="CoinGecko plan: history window, interval=5m|hourly (default: "
        "LAKEHOUSE_SIMULATOR_COINGECKO_PLAN or demo)",
    )
    simulate.add_argument(
        "--coingecko-rate-limit",
        type=int,
        metavar="N",
        help="CoinGecko calls per minute before a 429, 0 for none (default: 30, the Demo plan's)",
    )
    simulate.add_argument(
        "--smartcitizen-rate-limit",
        type=int,
        metavar="N",
        help="Smart Citizen calls per minute before a 429, 0 for none (default: 150)",
    )
    simulate.add_argument(
        "--history",
        choices=SIMULATOR_HISTORIES,
        help="api: CoinGecko's automatic history grain (default); minutely: a test option",
    )
    simulate.set_defaults(run=_simulate)


def _add_collect(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from lakehouse.sources.registry import sources

    collect = commands.add_parser(
        "collect", help="run one collection into the raw zone, as the Airflow task does"
    )
    collect.add_argument("source", choices=sorted(sources()), help="a registered source")
    collect.add_argument(
        "--interval-start",
        metavar="ISO",
        help="start of the one-minute data interval (UTC if no offset); default: the last minute",
    )
    collect.add_argument(
        "--history", action="store_true", help="use the history endpoints even for a recent one"
    )
    collect.set_defaults(run=_collect)


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
