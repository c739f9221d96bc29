"""The landed-log source's options (Spark hands them over in any case; bad values are named), and
its read of a partition's objects."""

from __future__ import annotations

import pickle
import time
from typing import Any

import pytest
from memory_s3 import MemoryS3
from pyspark.sql.datasource import InputPartition

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


class SlowFirstS3(MemoryS3):
    """The earlier a key in `order`, the later its GET answers; counts the GETs in flight."""

    def __init__(self, order: list[str]) -> None:
        super().__init__()
        self.delay = {key: 0.01 * (len(order) - i) for i, key in enumerate(order)}
        self.in_flight = self.most_in_flight = 0

    def get_object(self, **kwargs: Any) -> dict[str, Any]:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(self.delay[kwargs["Key"]])
        with self._lock:
            self.in_flight -= 1
        return super().get_object(**kwargs)


def test_a_partition_is_read_in_its_order_with_several_gets_in_flight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keys = [f"raw/object-{i}.json" for i in range(20)]
    s3 = SlowFirstS3(keys)
    for i, key in enumerate(keys):
        s3.put_object(Key=key, Body=f'{{"n": {i}}}\r\n\n{{"n": {i}, "second": true}}'.encode())
    monkeypatch.setattr(LandedOptions, "client", lambda self: s3)
    reader = LandedStreamReader(LandedOptions.of({"bucket": "lake"}))

    rows = list(reader.read(InputPartition(tuple(keys))))

    expected = [
        (f"s3a://lake/{key}", line)
        for i, key in enumerate(keys)
        for line in (f'{{"n": {i}}}', f'{{"n": {i}, "second": true}}')
    ]
    assert rows == expected
    assert s3.most_in_flight > 1
