"""What every silver parser shares: its result type, quarantine rows, and safe column casts.

A parser gets the accepted bronze rows of one (source, endpoint) and returns `Candidates`: rows in
its silver table's schema and rows in the quarantine's (without `quarantined_at`). Parsing never
raises on data: under ANSI mode only `try_*` functions and `from_json` (PERMISSIVE: null on
mismatch) touch payload values. A row under construction carries `REASON` (null: good),
`DETAIL` and `RECORD` (the text quarantined if the row is bad).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakehouse.tables import TableSpec

FUTURE_TOLERANCE = timedelta(minutes=5)
"""A timestamp may lead the fetch by this much (clock skew) before it counts as in the future."""

RECORD_MAX_CHARS = 16_384
"""Quarantined text beyond this is cut; the whole object stays in the raw zone (source_file)."""

CONTEXT = ("source", "endpoint", "mode", "fetched_at", "interval_start", "source_file")
REASON, DETAIL, RECORD = "_reason", "_detail", "_record"


@dataclass(frozen=True)
class Candidates:
    """Rows of one parser: `good` in the target schema, `bad` in the quarantine schema."""

    good: DataFrame
    bad: DataFrame

    def union(self, other: Candidates) -> Candidates:
        """The rows of two parsers of one silver table (a live and a history endpoint)."""
        return Candidates(
            good=self.good.unionByName(other.good), bad=self.bad.unionByName(other.bad)
        )


Parse = Callable[[DataFrame], Candidates]
"""A parser: the accepted bronze rows of its endpoint -> candidate rows of its table."""

Feeds = tuple[tuple[TableSpec, Parse], ...]
"""What one (source, endpoint) feeds: each silver table with the parser that makes its rows."""


def quarantine_rows(df: DataFrame) -> DataFrame:
    """Context columns + reason, detail and (cut) record text, in quarantine order sans time."""
    return df.select(
        *[F.col(name) for name in ("source", "endpoint", "mode")],
        F.col(REASON).alias("reason"),
        F.col(DETAIL).alias("detail"),
        F.substring(F.col(RECORD), 1, RECORD_MAX_CHARS).alias("record"),
        *[F.col(name) for name in ("fetched_at", "interval_start", "source_file")],
    )


def split(df: DataFrame, schema_names: Sequence[str]) -> Candidates:
    """Rows without a reason become good rows (in `schema_names`), the others quarantine rows."""
    good = df.where(F.col(REASON).isNull()).select(*schema_names)
    return Candidates(good=good, bad=quarantine_rows(df.where(F.col(REASON).isNotNull())))


def shape_failure(df: DataFrame, ok: Column) -> DataFrame:
    """Envelopes whose payload is not the endpoint's shape, as quarantine rows."""
    return quarantine_rows(
        df.where(~ok).select(
            "*",
            F.lit("payload_shape").alias(REASON),
            F.lit(None).cast("string").alias(DETAIL),
            F.col("payload").alias(RECORD),
        )
    )


def starts_with(prefix: str) -> Column:
    """The payload text starts with `prefix` (an object or a list), leading blanks ignored."""
    return F.coalesce(F.ltrim(F.col("payload")).startswith(prefix), F.lit(False))


def param(name: str) -> Column:
    """A request parameter of the envelope (null when absent)."""
    return F.try_element_at(F.col("request.params"), F.lit(name))


def in_future(ts: Column) -> Column:
    limit = F.col("fetched_at") + F.make_interval(secs=F.lit(FUTURE_TOLERANCE.total_seconds()))
    return F.coalesce(ts > limit, F.lit(False))


def minute(ts: Column) -> Column:
    """The silver time key of an instant (see "Time grain of silver" in `lakehouse.tables`)."""
    return F.date_trunc("minute", ts)


def to_double(text: Column) -> Column:
    return text.try_cast("double")


def to_long(text: Column) -> Column:
    """An id as a whole number; "13006" and 13006.0 parse, 13006.5 does not."""
    as_double = text.try_cast("double")
    return F.when(as_double == F.floor(as_double), as_double.try_cast("long"))


def iso_time(text: Column) -> Column:
    return F.try_to_timestamp(text)
