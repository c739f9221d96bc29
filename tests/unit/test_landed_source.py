"""The landed-log source's options: Spark hands them over in any case; bad values are named."""

from __future__ import annotations

import pickle

import pytest
from memory_s3 import MemoryS3

from lakehouse.landed_log import LandedLog
from lakehouse.spark.landed_source import LandedOptions, LandedStreamReader


def test_options_are_read_whatever_their_case() -> None:
    options = LandedOptions.of(
        {"bucket": "lake", "maxfilespertrigger": "500", "ENDPOINT_URL": "http://127.0.0.1:9000"}
    )
    assert options == LandedOptions("lake", "http://127.0.0.1:9000", None, 500)
    assert LandedOptions.of({"bucket": "lake"}).max_files_per_trigger is None


@pytest.mark.parametrize("value", ["0", "-3", "ten", ""])
def test_a_bad_max_files_per_trigger_is_named(value: str) -> None:
    with pytest.raises(ValueError, match=f"maxFilesPerTrigger .* got '{value}'"):
        LandedOptions.of({"bucket": "lake", "maxFilesPerTrigger": value})


def test_the_bucket_is_required() -> None:
    with pytest.raises(ValueError, match="needs the option bucket"):
        LandedOptions.of({"maxFilesPerTrigger": "5"})


def test_the_reader_pickles_without_its_client() -> None:
    """Spark pickles the reader for `read`; the driver's client (here one holding a lock, as
    boto3's do) must stay behind."""
    reader = LandedStreamReader(LandedOptions.of({"bucket": "lake"}))
    reader._landed = LandedLog(MemoryS3(), "lake")
    copy = pickle.loads(pickle.dumps(reader))
    assert copy._landed is None and copy.options == reader.options
