"""The stream's raw source is chosen once per lake: the other one is refused, naming why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lakehouse.spark.options import StreamOptions
from lakehouse.spark.queries import MEDALLION_QUERIES, medallion_source, read_landed


def started(checkpoints: Path, source: str) -> None:
    """The medallion's checkpoint of `source`, as once its query planned its first batch."""
    offsets = checkpoints / MEDALLION_QUERIES[source] / "offsets"  # type: ignore[index]
    offsets.mkdir(parents=True)
    (offsets / "0").write_text("v1\n{}\n{}\n")


@pytest.mark.parametrize(("source", "other"), [("files", "landed"), ("landed", "files")])
def test_a_lake_keeps_the_source_its_stream_started_with(
    spark: Any, tmp_path: Path, source: Any, other: str
) -> None:
    options = StreamOptions(lake_uri=str(tmp_path), raw_source=source)
    assert medallion_source(spark, options) == source  # a new lake
    started(tmp_path / "_checkpoints", source)
    assert medallion_source(spark, options) == source
    auto = StreamOptions(lake_uri=str(tmp_path), raw_source="auto")
    assert medallion_source(spark, auto) == source  # 'auto' keeps it, whatever the lake

    started(tmp_path / "_checkpoints", other)
    with pytest.raises(ValueError, match=f"with '{other}' .*_checkpoints/"):
        medallion_source(spark, options)
    with pytest.raises(ValueError, match=r"_checkpoints/.*keep that source"):
        medallion_source(spark, auto)  # two checkpoints: not for 'auto' to pick one


def test_auto_starts_a_new_bucket_lake_on_the_landed_log_and_any_other_on_files(
    spark: Any, tmp_path: Path
) -> None:
    def auto(lake: str) -> str:
        options = StreamOptions(lake_uri=lake, checkpoint_uri=str(tmp_path), raw_source="auto")
        return medallion_source(spark, options)

    assert auto("s3a://lake") == auto("s3a://lake/") == "landed"
    assert auto("s3a://lake/sub") == auto(str(tmp_path / "lake")) == "files"


@pytest.mark.parametrize("lake", ["/tmp/lake", "s3a://lake/sub", "s3://lake"])
def test_the_landed_source_needs_a_whole_bucket(spark: Any, lake: str) -> None:
    with pytest.raises(ValueError, match=f"not '{lake}'"):
        read_landed(spark, StreamOptions(lake_uri=lake, raw_source="landed"))
