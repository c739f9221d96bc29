"""Pure DataFrame -> DataFrame transforms shared by the layers; no I/O, no session state.

Bronze lives here; the silver parsers are in `lakehouse.spark.silver` and
`lakehouse.spark.parsers`, gold in `lakehouse.spark.gold`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from lakehouse.spark import schemas


def to_bronze(raw: DataFrame, source_file: Column, ingested_at: Column) -> DataFrame:
    """Envelope columns as they came, plus where and when the row was read, partitioned by date."""
    return raw.select(
        *[F.col(field.name) for field in schemas.ENVELOPE.fields],
        source_file.alias("source_file"),
        ingested_at.alias("ingested_at"),
        F.to_date(F.coalesce(F.col("interval_start"), ingested_at)).alias("date"),
    )


def latest_per_key(df: DataFrame, keys: Sequence[str], order_by: str | Sequence[str]) -> DataFrame:
    """Keep the row with the greatest `order_by` per key (compared in order; then source_file)."""
    columns = [order_by] if isinstance(order_by, str) else list(order_by)
    if "source_file" not in columns and "source_file" in df.columns:
        columns.append("source_file")
    window = Window.partitionBy(*keys).orderBy(*[F.col(c).desc_nulls_last() for c in columns])
    return (
        df.withColumn("_rank", F.row_number().over(window)).where(F.col("_rank") == 1).drop("_rank")
    )


def newer_than(source: str, target: str, order_by: Sequence[str]) -> str:
    """SQL predicate: the `source` row sorts after the `target` row on `order_by` (nulls first).

    With (a, b): s.a > t.a OR (s.a <=> t.a AND s.b > t.b), where a null never wins over a value.
    """

    def greater(column: str) -> str:
        s, t = f"{source}.{column}", f"{target}.{column}"
        return f"(({s} IS NOT NULL AND {t} IS NULL) OR {s} > {t})"

    clause = greater(order_by[-1])
    for column in reversed(order_by[:-1]):
        s, t = f"{source}.{column}", f"{target}.{column}"
        clause = f"({greater(column)} OR ({s} <=> {t} AND {clause}))"
    return clause
