"""The stream's raw source is chosen once per lake: the other one is refused, naming why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lakehouse.spark.options import StreamOptions
from lakehouse.spark.queries import medallion_query, read_landed
from lakehouse.tables import MEDALLION, MEDALLION_LANDED


def started(lake: Path, query: str) -> None:
    """A checkpoint whose query has planned its first batch."""
    offsets = lake / "_checkpoints" / query / "offsets"
    offsets.mkdir(parents=True)
    (offsets / "0").write_text("v1\n{}\n{}\n")


@pytest.mark.parametrize(
    ("source", "query", "other"),
    [("files", MEDALLION, MEDALLION_LANDED), ("landed", MEDALLION_LANDED, MEDALLION)],
)
def test_a_lake_keeps_the_source_its_stream_started_with(
    spark: Any, tmp_path: Path, source: Any, query: str, other: str
) -> None:
    options = StreamOptions(lake_uri=str(tmp_path), raw_source=source)
    assert medallion_query(spark, options) == query  # a new lake
    started(tmp_path, query)
    assert medallion_query(spark, options) == query  # its own checkpoint

    started(tmp_path, other)
    with pytest.raises(ValueError, match=f"--raw-source {source}.*_checkpoints/{other}"):
        medallion_query(spark, options)


@pytest.mark.parametrize("lake", ["/tmp/lake", "s3a://lake/sub", "s3://lake"])
def test_the_landed_source_needs_a_whole_bucket(spark: Any, lake: str) -> None:
    with pytest.raises(ValueError, match=f"not '{lake}'"):
        read_landed(spark, StreamOptions(lake_uri=lake, raw_source="landed"))
