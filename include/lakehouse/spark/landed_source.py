"""A streaming source of the raw zone that follows the landed log instead of listing `raw/`.

Spark's JSON file source lists the whole raw zone on every trigger, so its cost grows with the
raw zone (issue 11). This source's offset is the last landed-log number it consumed
(`lakehouse.landed_log`): a trigger lists only the entries after it, and a batch reads only the
objects they name. The log's numbers are dense, so a batch between two offsets is the same set
of objects every time Spark plans it, which is what a replayed batch needs for exactly once.

Rows are `(source_file, value)`, one per non-blank line of each object, and `source_file` is the
path the file source gives as `_metadata.file_path` (`s3a://<bucket>/<key>`). Parsed with
`from_json(value, ENVELOPE, {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": ...})`, they
give what the file source's line-delimited PERMISSIVE read gives: Spark's `JsonToStructs` uses
the same `FailureSafeParser` (apache/spark, `JsonExpressionEvalUtils.scala`). A key logged twice
is read once in a batch; across batches, the log's writers must not log it twice.

The Python Data Source API (pyspark 4.2, `pyspark.sql.datasource.DataSourceStreamReader`;
https://spark.apache.org/docs/latest/api/python/tutorial/sql/python_data_source.html) runs the
offset methods in one long-lived Python worker of the driver and `read` in executors' workers:
everything `read` needs travels in the partition, and executors reach MinIO with the AWS
environment variables the job is given (as s3a does), the endpoint coming in the options.
`latestOffset(start, limit)` honours `maxFilesPerTrigger` (`ReadMaxFiles`), and the reader
supports `Trigger.AvailableNow` (`SupportsTriggerAvailableNow`), which `--once` uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.datasource import DataSource, DataSourceStreamReader, InputPartition
from pyspark.sql.streaming.datasource import (
    ReadAllAvailable,
    ReadLimit,
    ReadMaxFiles,
    SupportsTriggerAvailableNow,
)
from pyspark.sql.types import StringType, StructField, StructType

from lakehouse.config import LakeSettings
from lakehouse.landed_log import NOTHING, LandedLog
from lakehouse.raw_zone import s3_client
from lakehouse.spark.schemas import CORRUPT_RECORD, ENVELOPE

NAME = "lakehouse_landed"
ROWS = StructType(
    [StructField("source_file", StringType(), False), StructField("value", StringType(), False)]
)
OBJECTS_PER_PARTITION = 64
"""Objects one read task fetches (each is a few KiB): few tasks per batch, as on 2 cores."""
OBJECT_READS_AT_ONCE = 8
"""GETs a read task has in flight: fetching a few KiB, a task mostly waits on the object store,
and boto3's client is thread-safe (its connection pool holds 10)."""
LINE_BREAK = re.compile(r"\r\n|\r|\n")
"""The line breaks of Spark's line reader (Python's `splitlines` also breaks at U+2028 and
others, which a JSON string may hold)."""


@dataclass(frozen=True)
class LandedOptions:
    """The source's options (`.option(...)` on the reader), checked where they are read."""

    bucket: str
    endpoint_url: str | None
    region: str | None
    max_files_per_trigger: int | None

    @classmethod
    def of(cls, given: dict[str, str]) -> LandedOptions:
        """Spark's data source options are case-insensitive (it may hand them over lowercased)."""
        options = {name.lower(): value for name, value in given.items()}
        bucket = options.get("bucket", "")
        if not bucket:
            raise ValueError(f"the {NAME} source needs the option bucket")
        most = options.get("maxfilespertrigger")
        if most is not None and (not most.isdigit() or int(most) <= 0):
            raise ValueError(f"maxFilesPerTrigger must be a positive whole number, got {most!r}")
        return cls(
            bucket=bucket,
            endpoint_url=options.get("endpoint_url") or None,
            region=options.get("region") or None,
            max_files_per_trigger=int(most) if most is not None else None,
        )

    def client(self) -> Any:
        """The lake's S3 client, with the environment's keys (AWS_ACCESS_KEY_ID / _SECRET_...)."""
        lake = LakeSettings(bucket=self.bucket, endpoint_url=self.endpoint_url or "")
        return s3_client(lake if self.region is None else replace(lake, region=self.region))


class LandedDataSource(DataSource):
    """`spark.readStream.format("lakehouse_landed").option("bucket", ...)`; register it with
    `spark.dataSource.register(LandedDataSource)` first."""

    @classmethod
    def name(cls) -> str:
        return NAME

    def schema(self) -> StructType:
        return ROWS

    def streamReader(self, schema: StructType) -> DataSourceStreamReader:
        return LandedStreamReader(LandedOptions.of(dict(self.options)))


class LandedStreamReader(DataSourceStreamReader, SupportsTriggerAvailableNow):
    def __init__(self, options: LandedOptions) -> None:
        self.options = options
        self._until: int | None = None
        """The last number an AvailableNow run reads (pinned when it starts)."""
        self._landed: LandedLog | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Spark pickles the reader for `read`; a boto3 client does not pickle and is left out."""
        return {**self.__dict__, "_landed": None}

    def _log(self) -> LandedLog:
        """The log, with one boto3 client for the driver's long-lived worker (a client costs
        tens of milliseconds to make, and a trigger comes every few seconds)."""
        if self._landed is None:
            self._landed = LandedLog(self.options.client(), self.options.bucket)
        return self._landed

    def initialOffset(self) -> dict[str, int]:
        return {"seq": NOTHING}

    def getDefaultReadLimit(self) -> ReadLimit:
        most = self.options.max_files_per_trigger
        return ReadMaxFiles(most) if most else ReadAllAvailable()

    def prepareForTriggerAvailableNow(self) -> None:
        self._until = self._log().end()

    def latestOffset(self, start: dict[str, int], limit: ReadLimit) -> dict[str, int]:
        most = limit.max_files if isinstance(limit, ReadMaxFiles) else None
        found = self._log().entry_seqs_after(int(start["seq"]), most)
        if self._until is not None:
            found = [seq for seq in found if seq <= self._until]
        return {"seq": found[-1]} if found else start

    def partitions(self, start: dict[str, int], end: dict[str, int]) -> Sequence[InputPartition]:
        first, last = int(start["seq"]) + 1, int(end["seq"])
        if first > last:
            return []
        entries = self._log().read_all(range(first, last + 1))
        keys = list(dict.fromkeys(entry.key for entry in entries))
        return [
            InputPartition(tuple(keys[i : i + OBJECTS_PER_PARTITION]))
            for i in range(0, len(keys), OBJECTS_PER_PARTITION)
        ]

    def read(self, partition: InputPartition) -> Iterator[tuple[str, str]]:
        """The partition's objects in its order, `OBJECT_READS_AT_ONCE` GETs in flight."""
        s3 = self.options.client()
        bucket = self.options.bucket

        def body(key: str) -> bytes:
            data: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            return data

        with ThreadPoolExecutor(max_workers=OBJECT_READS_AT_ONCE) as pool:
            for key, data in zip(partition.value, pool.map(body, partition.value), strict=True):
                path = f"s3a://{bucket}/{key}"
                for line in LINE_BREAK.split(data.decode("utf-8", errors="replace")):
                    if line.strip():
                        yield path, line

    def commit(self, end: dict[str, int]) -> None:
        """Nothing to release: the log is never trimmed (the raw zone is the record)."""


def envelopes(rows: DataFrame) -> DataFrame:
    """The source's rows as the raw envelopes, columns as the file source gives them (with
    `source_file` for its `_metadata.file_path`): an unreadable line kept in `_corrupt_record`."""
    parsed = F.from_json(
        "value", ENVELOPE, {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT_RECORD}
    )
    return rows.select(parsed.alias("envelope"), "source_file").select("envelope.*", "source_file")
