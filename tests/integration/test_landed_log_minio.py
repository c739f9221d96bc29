"""The landed log on a real MinIO: racing writers, each with its own client, as collection tasks
are, number every key once and leave no gap; a reader lists only what follows its position."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lakehouse.landed_log import NOTHING, LandedLog, reconcile
from lakehouse.raw_zone import RawZoneWriter

pytestmark = pytest.mark.integration

BUCKET = "landed-log"
WRITERS, EACH = 6, 20


def test_racing_writers_on_minio_leave_a_dense_log(minio: Any) -> None:
    minio.client().create_bucket(Bucket=BUCKET)

    def land(writer: int) -> list[int]:
        landed = LandedLog(minio.client(), BUCKET)
        return [landed.append(f"raw/src/ep/date=2026-12-06/hour=05/{writer}_{i}.json")
                for i in range(EACH)]  # fmt: skip

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        seqs = [seq for taken in pool.map(land, range(WRITERS)) for seq in taken]

    total = WRITERS * EACH
    assert sorted(seqs) == list(range(total))
    reader = LandedLog(minio.client(), BUCKET)
    assert reader.entry_seqs_after(NOTHING) == list(range(total))
    keys = [reader.read(seq).key for seq in range(total)]
    assert sorted(keys) == sorted(
        f"raw/src/ep/date=2026-12-06/hour=05/{w}_{i}.json"
        for w in range(WRITERS)
        for i in range(EACH)
    )
    # Each writer's own keys are in the order it landed them.
    for w in range(WRITERS):
        mine = [k for k in keys if f"/{w}_" in k]
        assert mine == [f"raw/src/ep/date=2026-12-06/hour=05/{w}_{i}.json" for i in range(EACH)]
    assert reader.entry_seqs_after(total - 3) == [total - 2, total - 1]


def test_objects_a_writer_left_unlogged_are_logged_by_the_reconciliation_once(minio: Any) -> None:
    """A collector's writer logs what it lands; a dead one left its object unlogged, and the
    reconciliation logs it once the grace period is over (MinIO's own LastModified), not before."""
    bucket = "landed-reconcile"
    s3 = minio.client()
    s3.create_bucket(Bucket=bucket)
    landed = LandedLog(s3, bucket)
    writer = RawZoneWriter(s3, bucket, landed=landed)
    key = "raw/src/ep/date=2026-12-06/hour=05/{}.json"
    assert all(writer._put(key.format(i), b"{}\n") for i in range(3))
    s3.put_object(Bucket=bucket, Key=key.format("dead"), Body=b"{}\n")  # its writer died here
    grace = timedelta(minutes=15)

    early = reconcile(landed, "raw", datetime.now(UTC), grace)
    assert (early.listed, early.logged, early.young) == (4, (), 1)

    later = datetime.now(UTC) + grace
    assert reconcile(landed, "raw", later, grace).logged == (key.format("dead"),)
    assert reconcile(landed, "raw", later, grace).logged == ()
    logged = [entry.key for entry in landed.read_all(landed.entry_seqs_after(NOTHING))]
    assert logged == [key.format(i) for i in (0, 1, 2, "dead")]
