"""The landed-log source's options: Spark hands them over in any case; bad values are named."""

from __future__ import annotations

import pytest

from lakehouse.spark.landed_source import LandedOptions


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
