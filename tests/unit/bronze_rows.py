"""Bronze rows for transform tests: one envelope per call, any endpoint, any payload text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, Row, SparkSession

from lakehouse import tables
from lakehouse.spark import schemas

INGESTED_AT = datetime(2024, 4, 8, 9, 0, tzinfo=UTC)
FETCHED_AT = datetime(2024, 4, 8, 9, 0, 3, tzinfo=UTC)
SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"


def envelope(
    source: str,
    endpoint: str,
    payload: str | None,
    file: str,
    *,
    params: dict[str, str] | None = None,
    fetched_at: datetime = FETCHED_AT,
    mode: str = "live",
    http_status: int | None = 200,
    corrupt: str | None = None,
) -> dict[str, Any]:
    start = fetched_at.replace(second=0, microsecond=0)
    return {
        "source": source,
        "endpoint": endpoint,
        "request": Row(url=f"https://api.example/{endpoint}", params=params or {}),
        "interval_start": start,
        "interval_end": start + timedelta(minutes=1),
        "fetched_at": fetched_at,
        "http_status": http_status,
        "mode": mode,
        "run_id": "r",
        "payload": payload,
        schemas.CORRUPT_RECORD: corrupt,
        "source_file": file,
        "ingested_at": INGESTED_AT,
        "date": start.date(),
    }


def corrupt_line(text: str, file: str) -> dict[str, Any]:
    row: dict[str, Any] = {name: None for name in tables.BRONZE_RAW_EVENTS.schema.names}
    return row | {
        schemas.CORRUPT_RECORD: text,
        "source_file": file,
        "ingested_at": INGESTED_AT,
        "date": INGESTED_AT.date(),
    }


def bronze(spark: SparkSession, rows: list[dict[str, Any]]) -> DataFrame:
    names = tables.BRONZE_RAW_EVENTS.schema.names
    return spark.createDataFrame(
        [tuple(r[n] for n in names) for r in rows], tables.BRONZE_RAW_EVENTS.schema
    )


def sample(source: str, name: str) -> str:
    return (SAMPLES / source / name).read_text(encoding="utf-8")


def device_2023_sample() -> str:
    """The 2023+ device object of the not-parseable sample: its `// ` comment lines, unwrapped.

    The sample wraps long description strings over several comment lines; joining the lines with
    a space instead of a newline makes them valid JSON strings again.
    """
    text = sample("smartcitizen", "device_15602_sck21_current_shape_JAVA_COMMENT_not_parseable.txt")
    device_part = text.split("SENSOR INFO")[0]
    lines = [
        line.strip()[3:] for line in device_part.splitlines() if line.strip().startswith("// ")
    ]
    joined = " ".join(lines)
    return joined[joined.index("{") : joined.rindex("}") + 1]
