"""Bronze rows -> typed silver rows and quarantine rows: the generic part of parsing.

Every bronze row ends up somewhere: in one or more silver rows, in the quarantine with a reason,
or (an accepted payload with nothing in it, such as a device with `"data": {}` and no sensors) in
nothing but its devices row. This module sorts out the envelopes that cannot be parsed, runs the
parsers of `lakehouse.spark.parsers.REGISTRY` over the others and keeps one row per silver key.

Quarantine reasons
------------------
envelope level: `not_json` (the raw line is not JSON), `truncated` (it starts like a JSON object but
is cut off), `missing_envelope_field` (no source, endpoint or fetched_at), `http_error` (status not
2xx), `unknown_endpoint`, `empty_payload`, `payload_shape` (the payload is not the JSON shape the
endpoint returns, e.g. an error object);
record level: `null_key`, `unexpected_key` (a /simple/price key that is no currency field),
`negative_price`, `future_timestamp` (later than the fetch plus `FUTURE_TOLERANCE` of
`lakehouse.spark.parsers.common`), `null_value`, `out_of_range` (a sensor value outside its unit's
physical range, or NaN).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakehouse import tables
from lakehouse.spark import schemas
from lakehouse.spark.parsers import REGISTRY
from lakehouse.spark.parsers.common import DETAIL, REASON, RECORD, Candidates, quarantine_rows
from lakehouse.spark.transforms import latest_per_key
from lakehouse.tables import TableSpec

PARSED = tuple(
    spec
    for spec in tables.ALL_TABLES
    if spec in {table for feeds in REGISTRY.values() for table, _ in feeds}
)
"""The silver tables the parsers feed, in `ALL_TABLES` order."""

OUTPUTS = (*PARSED, tables.SILVER_QUARANTINE)
"""Every table one bronze batch is parsed into."""


@dataclass(frozen=True)
class SilverBatch:
    """What one bronze batch becomes: one row per key for each silver table, and quarantine.

    `batch.coin_prices` is the rows of silver.coin_prices: callers name a table as they would in
    SQL, and a new table needs no new attribute here.
    """

    rows: Mapping[TableSpec, DataFrame]
    """The rows of each table in `OUTPUTS`."""

    def __getattr__(self, name: str) -> DataFrame:
        for spec, frame in self.__dict__.get("rows", {}).items():
            if spec.name == name:
                return frame
        raise AttributeError(f"{type(self).__name__} has no table {name!r}")


def parse_bronze(
    bronze: DataFrame,
    quarantined_at: Column | None = None,
    endpoints: Collection[tuple[str, str]] | None = None,
) -> SilverBatch:
    """Parse every envelope of a bronze batch; good rows deduplicated per silver key.

    `endpoints`, the (source, endpoint) pairs the batch holds (see `endpoints_in`), leaves out the
    parsers of the others and the tables only they feed: a micro-batch usually holds one or two
    collections, and a table that can get no rows should cost no Spark job. The quarantine is
    always there (an envelope of any endpoint may be bad)."""
    at = quarantined_at if quarantined_at is not None else F.current_timestamp()
    envelopes = classify_envelopes(bronze)
    accepted = envelopes.where(F.col(REASON).isNull()).drop(REASON, DETAIL, RECORD)
    candidates = _run_parsers(accepted, endpoints)
    bad = quarantine_rows(envelopes.where(F.col(REASON).isNotNull()))
    for part in candidates.values():
        bad = bad.unionByName(part.bad)
    quarantine = bad.select(
        *[F.col(n) for n in tables.SILVER_QUARANTINE.schema.names if n != "quarantined_at"],
        at.alias("quarantined_at"),
    )
    good = {
        spec: latest_per_key(candidates[spec].good, spec.keys, spec.order)
        for spec in PARSED
        if spec in candidates
    }
    return SilverBatch({**good, tables.SILVER_QUARANTINE: quarantine})


def endpoints_in(bronze: DataFrame) -> set[tuple[str, str]]:
    """The (source, endpoint) pairs of a bronze batch (one small Spark job)."""
    pairs = bronze.select("source", "endpoint").distinct().collect()
    return {(row["source"], row["endpoint"]) for row in pairs}


def _run_parsers(
    accepted: DataFrame, endpoints: Collection[tuple[str, str]] | None
) -> dict[TableSpec, Candidates]:
    """Each fed table's candidates: the union of its parsers' over their endpoints' rows."""
    found: dict[TableSpec, Candidates] = {}
    for (source, endpoint), feeds in REGISTRY.items():
        if endpoints is not None and (source, endpoint) not in endpoints:
            continue
        rows = accepted.where((F.col("source") == source) & (F.col("endpoint") == endpoint))
        for spec, parse in feeds:
            parsed = parse(rows)
            found[spec] = found[spec].union(parsed) if spec in found else parsed
    return found


def classify_envelopes(bronze: DataFrame) -> DataFrame:
    """Bronze rows with `REASON` (null: the envelope is fine), `DETAIL` and `RECORD`."""
    corrupt = F.col(schemas.CORRUPT_RECORD)
    trimmed = F.trim(corrupt)
    truncated = trimmed.startswith("{") & ~trimmed.endswith("}")
    known = F.concat_ws("/", "source", "endpoint").isin(
        [f"{source}/{endpoint}" for source, endpoint in REGISTRY]
    )
    reason = (
        F.when(corrupt.isNotNull(), F.when(truncated, "truncated").otherwise("not_json"))
        .when(
            F.col("source").isNull() | F.col("endpoint").isNull() | F.col("fetched_at").isNull(),
            "missing_envelope_field",
        )
        .when(~F.coalesce(F.col("http_status").between(200, 299), F.lit(True)), "http_error")
        .when(~known, "unknown_endpoint")
        .when(F.col("payload").isNull(), "empty_payload")
    )
    detail = (
        F.when(corrupt.isNotNull(), F.concat(F.lit("length "), F.length(corrupt).cast("string")))
        .when(
            F.col("http_status").isNotNull(),
            F.concat(F.lit("http_status "), F.col("http_status").cast("string")),
        )
        .otherwise(F.lit(None).cast("string"))
    )
    return bronze.select(
        "*",
        reason.alias(REASON),
        detail.alias(DETAIL),
        F.coalesce(corrupt, F.col("payload")).alias(RECORD),
    )
