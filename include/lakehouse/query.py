"""Read the lake's Delta tables by name, without a JVM, for the CLI and the UI.

Spark is the writer; answering a question about the lake should not need a Spark session, which
takes many seconds and a lot of memory to start. delta-rs reads the Delta log and hands DuckDB a
lazy Arrow dataset, so DuckDB's filters and projections reach the Parquet files and a point query
stays fast however much history the table holds.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

import duckdb
from deltalake import DeltaTable
from deltalake.exceptions import DeltaError

from lakehouse.config import LakeSettings
from lakehouse.tables import ALL_TABLES, TableSpec

OutputFormat = Literal["table", "csv", "json"]
OUTPUT_FORMATS: tuple[OutputFormat, ...] = ("table", "csv", "json")

NULL_TEXT = "NULL"
"""How a missing value reads in the terminal table, distinct from an empty string."""

_DATASET_PREFIX = "__lake_"


class QueryError(ValueError):
    """The SQL could not run; the message fits on one line and names the tables one can query."""


def delta_storage_options(lake: LakeSettings) -> dict[str, str]:
    """Object-store options that point delta-rs at the lake's S3-compatible endpoint (MinIO or S3).

    Keys are object_store's `AWS_*` names, so the same dictionary also works as environment
    variables. Plain HTTP has to be allowed explicitly, which a local MinIO needs.
    """
    options = {"AWS_REGION": lake.region}
    if lake.endpoint_url:
        options["AWS_ENDPOINT_URL"] = lake.endpoint_url
        if lake.endpoint_url.lower().startswith("http://"):
            options["AWS_ALLOW_HTTP"] = "true"
    if lake.access_key:
        options["AWS_ACCESS_KEY_ID"] = lake.access_key
    if lake.secret_key:
        options["AWS_SECRET_ACCESS_KEY"] = lake.secret_key
    return options


def table_uri(lake_root: str, ref: TableSpec) -> str:
    """Where a table lives under the lake root, an `s3://bucket` URI or a local folder alike."""
    return f"{lake_root.rstrip('/')}/{ref.path}"


def open_lake(
    lake_root: str,
    storage_options: Mapping[str, str] | None = None,
    tables: Iterable[TableSpec] = ALL_TABLES,
    as_of: int | datetime | None = None,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection on which each existing table answers to its `layer.name`.

    Tables that have not been written yet are left out rather than shown empty, so a query on them
    fails as DuckDB's own "does not exist" error (turned into a QueryError by run_query). Each
    table is read at the Delta version current when this is called (reopen to see newer commits),
    or, with `as_of`, at that version number or at the version current at that time (time
    travel); a table without such a version is left out the same way.

    The connection is read-only towards the machine: once the tables are registered, DuckDB's
    external access is switched off and its configuration locked. The lake's tables are Arrow
    datasets read by delta-rs, so they still scan, but no statement can read or write a local file
    (`COPY ... TO`, `read_text('.lakehouse/credentials.env')`, `ATTACH`) or load an extension.
    """
    options = dict(storage_options or {})
    refs = list(tables)
    conn = duckdb.connect(":memory:")
    # Only the lake's tables should be in scope: no scans of Python variables by their name.
    conn.execute("SET python_enable_replacements = false")
    # Delta timestamps are UTC instants; show them as such whatever the machine's zone is.
    conn.execute("SET TimeZone = 'UTC'")
    for layer in sorted({ref.layer for ref in refs}):
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(layer)}")
    for ref in refs:
        uri = table_uri(lake_root, ref)
        if not DeltaTable.is_deltatable(uri, storage_options=options):
            continue
        table = DeltaTable(uri, storage_options=options)
        if as_of is not None and not _travel(table, as_of):
            continue
        dataset = table.to_pyarrow_dataset()
        internal = f"{_DATASET_PREFIX}{ref.layer}__{ref.name}"
        conn.register(internal, dataset)
        conn.execute(
            f"CREATE OR REPLACE VIEW {_ident(ref.layer)}.{_ident(ref.name)} "
            f"AS SELECT * FROM {_ident(internal)}"
        )
    conn.execute("SET enable_external_access = false")
    conn.execute("SET lock_configuration = true")
    return conn


def _travel(table: DeltaTable, as_of: int | datetime) -> bool:
    """Load `table` as of a version or a time; False when it has no such version.

    A time picks the newest commit made at or before it, by the commits' own timestamps: delta-rs
    would load version 0 for a time before the table existed, which must read as absent.
    """
    if isinstance(as_of, datetime):
        cutoff = as_of.timestamp() * 1000
        versions = [c["version"] for c in table.history() if c["timestamp"] <= cutoff]
        if not versions:
            return False
        as_of = max(versions)
    try:
        table.load_as_version(as_of)
    except DeltaError:
        return False
    return True


def available_tables(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """The `layer.name` of every lake table the connection can query, sorted."""
    rows = conn.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema <> 'main' "
        "ORDER BY table_schema, table_name"
    ).fetchall()
    return [f"{schema}.{name}" for schema, name in rows]


def run_query(sql: str, conn: duckdb.DuckDBPyConnection) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of the statement's result; any DuckDB error becomes a QueryError."""
    try:
        result = conn.execute(sql)
        description = result.description
        if description is None:
            return [], []
        columns = [str(column[0]) for column in description]
        rows = [tuple(row) for row in result.fetchall()]
    except duckdb.PermissionException as exc:
        raise QueryError(
            f"{_one_line(str(exc))}: `lakehouse query` only reads the lake's tables; it cannot "
            "read or write local files, attach databases or load extensions"
        ) from exc
    except duckdb.Error as exc:
        tables = available_tables(conn)
        listed = ", ".join(tables) if tables else "none yet"
        raise QueryError(f"{_one_line(str(exc))} (available tables: {listed})") from exc
    return columns, rows


def format_rows(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: OutputFormat = "table"
) -> str:
    """Render a result for a person (`table`) or for another program (`csv`, `json`)."""
    if fmt == "table":
        return format_table(columns, rows)
    if fmt == "csv":
        return format_csv(columns, rows)
    if fmt == "json":
        return format_json(columns, rows)
    raise ValueError(f"unknown output format {fmt!r}; expected one of {', '.join(OUTPUT_FORMATS)}")


def format_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An aligned text table: numbers right-aligned so that their digits line up, text left."""
    cells = [[_text(value) for value in row] for row in rows]
    right = [
        any(_is_number(row[i]) for row in rows)
        and all(_is_number(row[i]) or row[i] is None for row in rows)
        for i in range(len(columns))
    ]
    widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        padded = (
            value.rjust(width) if is_right else value.ljust(width)
            for value, width, is_right in zip(values, widths, right, strict=True)
        )
        return "  ".join(padded).rstrip()

    lines = [line(list(columns)), line(["-" * width for width in widths])]
    lines.extend(line(row) for row in cells)
    return "\n".join(lines)


def format_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """CSV with a header row and quoting as spreadsheets expect; a NULL is an empty field."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if value is None else _plain(value) for value in row])
    return buffer.getvalue()


def format_json(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A JSON array with one object per row, keyed by column name; times as ISO 8601 strings."""
    records = [
        {name: _finite(value) for name, value in zip(columns, row, strict=True)} for row in rows
    ]
    return json.dumps(records, default=_json_default, ensure_ascii=False)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _one_line(message: str) -> str:
    """DuckDB's message up to its source excerpt, the hint lines ("Did you mean") kept."""
    kept: list[str] = []
    for raw in message.splitlines():
        text = raw.strip()
        if text.startswith("LINE "):
            break
        if text:
            kept.append(text)
    return " ".join(kept) or message.strip()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _plain(value: Any) -> str:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _text(value: Any) -> str:
    if value is None:
        return NULL_TEXT
    if isinstance(value, datetime):
        return str(value)
    return _plain(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _finite(value: Any) -> Any:
    """NaN and infinities are not JSON; they become null rather than an unreadable document."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
