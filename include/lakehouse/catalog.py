"""What the lake holds, from the Delta logs alone: each table's version, commits, rows and size.

`lakehouse tables` and `lakehouse history` answer from delta-rs without a JVM and without reading a
data file: row counts are the sum of the `numRecords` statistic Spark writes into every add
action, sizes the sum of the files' sizes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
from deltalake import DeltaTable

from lakehouse.query import table_uri
from lakehouse.tables import ALL_TABLES, TableSpec


class UnknownTable(ValueError):
    """A table name the lake does not declare; the message lists the ones it does."""


@dataclass(frozen=True)
class TableInfo:
    name: str
    version: int
    last_commit: datetime
    last_operation: str
    rows: int | None
    """None when some file has no `numRecords` statistic."""
    files: int
    size_bytes: int

    def age(self, now: datetime) -> timedelta:
        """How long ago the last commit was: the table's freshness."""
        return now - self.last_commit


def find_table(name: str, tables: Iterable[TableSpec] = ALL_TABLES) -> TableSpec:
    """The spec named `layer.name`, or UnknownTable listing every known name."""
    specs = list(tables)
    for spec in specs:
        if spec.qualified_name == name:
            return spec
    known = ", ".join(spec.qualified_name for spec in specs)
    raise UnknownTable(f"unknown table {name!r}; the lake's tables are: {known}")


def describe_tables(
    lake_root: str,
    storage_options: Mapping[str, str] | None = None,
    tables: Iterable[TableSpec] = ALL_TABLES,
) -> list[TableInfo]:
    """One TableInfo per table written so far, in declaration order."""
    options = dict(storage_options or {})
    infos = []
    for spec in tables:
        uri = table_uri(lake_root, spec)
        if not DeltaTable.is_deltatable(uri, storage_options=options):
            continue
        table = DeltaTable(uri, storage_options=options)
        (last,) = table.history(limit=1)
        files = pa.table(table.get_add_actions(flatten=True))
        records = files.column("num_records").to_pylist() if files.num_rows else []
        infos.append(
            TableInfo(
                name=spec.qualified_name,
                version=table.version(),
                last_commit=datetime.fromtimestamp(last["timestamp"] / 1000, UTC),
                last_operation=str(last.get("operation", "")),
                rows=None if any(n is None for n in records) else sum(records),
                files=files.num_rows,
                size_bytes=sum(files.column("size_bytes").to_pylist()) if files.num_rows else 0,
            )
        )
    return infos


def table_history(
    lake_root: str,
    name: str,
    storage_options: Mapping[str, str] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The commits of table `name`, newest first: version, time, operation and its metrics."""
    spec = find_table(name)
    uri = table_uri(lake_root, spec)
    options = dict(storage_options or {})
    if not DeltaTable.is_deltatable(uri, storage_options=options):
        raise UnknownTable(f"table {name!r} has not been written yet")
    commits = DeltaTable(uri, storage_options=options).history(limit=limit)
    return [
        {
            "version": commit["version"],
            "timestamp": datetime.fromtimestamp(commit["timestamp"] / 1000, UTC),
            "operation": commit.get("operation", ""),
            "parameters": commit.get("operationParameters", {}),
            "metrics": commit.get("operationMetrics", {}),
        }
        for commit in commits
    ]
