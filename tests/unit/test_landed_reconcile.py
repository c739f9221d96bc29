"""Every raw object ends in the landed log: its writer logs it, or the reconciliation does."""

from __future__ import annotations

import gzip
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from memory_s3 import MemoryS3

from lakehouse.landed_log import NOTHING, RECONCILED_KEY, LandedLog, reconcile
from lakehouse.raw_zone import RawZoneWriter
from lakehouse.spool import Spool

BUCKET = "lake"
GRACE = timedelta(minutes=15)


def raw_key(i: int) -> str:
    return f"raw/coingecko/simple_price/date=2026-12-06/hour=05/20261206T05{i:04d}Z_{i}.json"


def logged_keys(landed: LandedLog) -> list[str]:
    return [entry.key for entry in landed.read_all(landed.entry_seqs_after(NOTHING))]


def land(s3: MemoryS3, key: str, age: timedelta = timedelta(hours=1)) -> None:
    """An object put `age` ago by a writer that did not log it."""
    s3.put_object(Bucket=BUCKET, Key=key, Body=b'{"a":1}\n')
    s3.modified[key] -= age


class LogUnavailableS3(MemoryS3):
    """Takes the raw object, then fails as a lake gone away would (503) on the landed log."""

    def put_object(self, **kwargs: Any) -> dict[str, Any]:
        if kwargs["Key"].startswith("_landed/"):
            error = {"Code": "ServiceUnavailable", "Message": "down"}
            meta = {"HTTPStatusCode": 503}
            raise ClientError({"Error": error, "ResponseMetadata": meta}, "PutObject")
        return super().put_object(**kwargs)


def test_a_writer_logs_the_objects_its_puts_created_and_only_those(tmp_path: Path) -> None:
    s3 = MemoryS3()
    landed = LandedLog(s3, BUCKET)
    writer = RawZoneWriter(s3, BUCKET, Spool(tmp_path, max_mb=1), landed)
    assert writer._put(raw_key(1), b"{}\n") is True
    assert writer._put(raw_key(1), b"{}\n") is False  # a retry: its creator logged it
    assert writer.spool is not None
    writer.spool.keep(raw_key(2), b"{}\n")
    assert writer.land_spooled().landed == [raw_key(2)]

    assert logged_keys(landed) == [raw_key(1), raw_key(2)]


def test_a_log_the_writer_cannot_reach_fails_nothing_and_reconciliation_logs_the_object(
    caplog: pytest.LogCaptureFixture,
) -> None:
    s3 = LogUnavailableS3()
    writer = RawZoneWriter(s3, BUCKET, landed=LandedLog(s3, BUCKET))
    with caplog.at_level(logging.WARNING):
        assert writer._put(raw_key(1), b"{}\n") is True
    assert "could not log it" in caplog.text and raw_key(1) in caplog.text
    assert list(s3.objects) == [raw_key(1)]

    back = MemoryS3()  # the lake is back: the same objects, and the log reachable again
    back.objects, back.modified = s3.objects, s3.modified
    back.modified[raw_key(1)] -= GRACE
    done = reconcile(LandedLog(back, BUCKET), "raw", datetime.now(UTC), GRACE)
    assert done.logged == (raw_key(1),)
    assert logged_keys(LandedLog(back, BUCKET)) == [raw_key(1)]


def test_reconciliation_logs_old_unlogged_objects_once_and_leaves_young_ones_to_their_writers() -> (
    None
):
    s3 = MemoryS3()
    landed = LandedLog(s3, BUCKET)
    land(s3, raw_key(1))
    s3.put_object(Bucket=BUCKET, Key=raw_key(2), Body=b"{}\n")
    landed.append(raw_key(2))  # a writer that logged its object
    land(s3, raw_key(3), age=timedelta(minutes=1))  # its writer may be about to log it
    land(s3, "raw/coingecko/simple_price/date=2026-12-06/hour=05/notes.txt")  # not read: not logged
    land(s3, "_healed/coingecko/prices/date=2026-12-06/0500.json")  # not in the raw zone

    now = datetime.now(UTC)
    first = reconcile(landed, "raw", now, GRACE)

    assert (first.listed, first.logged, first.young) == (3, (raw_key(1),), 1)
    assert logged_keys(landed) == [raw_key(2), raw_key(1)]

    s3.modified[raw_key(3)] -= GRACE  # its writer died after all
    land(s3, raw_key(4))
    s3.put_object(Bucket=BUCKET, Key=raw_key(5), Body=b"{}\n")
    landed.append(raw_key(5))
    second = reconcile(landed, "raw", now, GRACE)

    assert (second.listed, second.logged, second.young) == (5, (raw_key(3), raw_key(4)), 0)
    assert logged_keys(landed) == [raw_key(i) for i in (2, 1, 5, 3, 4)]
    assert reconcile(landed, "raw", now, GRACE).logged == ()


def test_reconciliation_reads_only_the_entries_added_since_its_last_run() -> None:
    s3 = MemoryS3()
    landed = LandedLog(s3, BUCKET)
    for i in range(4):
        land(s3, raw_key(i))
    reconcile(landed, "raw", datetime.now(UTC), GRACE)
    state = json.loads(gzip.decompress(s3.objects[RECONCILED_KEY]))
    assert state == {"through": NOTHING, "keys": [raw_key(i) for i in range(4)]}

    reads: list[str] = []
    get_object = s3.get_object

    def counted(**kwargs: Any) -> dict[str, Any]:
        reads.append(kwargs["Key"])
        return get_object(**kwargs)

    s3.get_object = counted  # type: ignore[method-assign]
    assert reconcile(landed, "raw", datetime.now(UTC), GRACE).logged == ()
    entries = [key for key in reads if key.startswith("_landed/log/")]
    assert len(entries) == 4  # its own four entries, read back once
    reads.clear()
    assert reconcile(landed, "raw", datetime.now(UTC), GRACE).logged == ()
    assert [key for key in reads if key.startswith("_landed/log/")] == []
    assert json.loads(gzip.decompress(s3.objects[RECONCILED_KEY]))["through"] == 3


def test_an_unreadable_reconciliation_state_is_rebuilt_from_the_log_without_logging_twice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    s3 = MemoryS3()
    landed = LandedLog(s3, BUCKET)
    for i in range(3):
        land(s3, raw_key(i))
    reconcile(landed, "raw", datetime.now(UTC), GRACE)
    s3.objects[RECONCILED_KEY] = b"not gzip"

    with caplog.at_level(logging.WARNING):
        again = reconcile(landed, "raw", datetime.now(UTC), GRACE)

    assert RECONCILED_KEY in caplog.text and "unreadable" in caplog.text
    assert again.logged == ()
    assert logged_keys(landed) == [raw_key(i) for i in range(3)]
