"""The landed log: the key of every object that lands in the raw zone, numbered without gaps.

Why: Spark's file source lists the whole raw zone on every trigger and remembers every file it
has seen, so each trigger costs more as the raw zone grows (issue 11: planning 764 ms at 10,000
processed objects, 4,292 ms at 100,000). Object keys cannot say in which order objects landed
(a backfill lands old dates, a spool lands late), and S3 lists only in key order. This log does:
a reader that remembers the last number it consumed asks only for what follows (ListObjectsV2
`StartAfter`), so its cost follows what is new, not what is there.

Entries are `_landed/log/<seq // 1000>/<seq>.json` (16 digits each), each naming one raw key.
The numbers stay dense, which lets a reader trust "nothing after N yet" to mean nothing was
skipped:

- an entry is created with a conditional PUT (`lakehouse.s3_objects.put_if_absent`), so two
  writers never take one number; the loser takes the next;
- a writer only tries the number after the last entry it listed, and entries are never deleted,
  so number N is only ever created after N-1 exists ("MinIO follows strict read-after-write and
  list-after-write consistency", minio/minio `docs/distributed/README.md`; S3 likewise:
  https://aws.amazon.com/s3/consistency/).

A writer would otherwise list the whole log to find its end; `_landed/tail.json` holds a number
that some writer appended, which is a lower bound of the end (hints only move forward, except when
two writers race, and a stale hint only means a longer listing).

Only the writer whose PUT created an object is to log it: readers take a key logged twice in one
batch once, but not across batches. An object whose writer died between its PUT and its entry is
not in the log; finding those (a reconciliation off the stream's path, which must not log a key
twice) is still to be built, and until it is, the collectors do not write the log (issue 11).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from botocore.exceptions import ClientError

from lakehouse.s3_objects import S3Objects, get_if_present, list_keys, put_if_absent

log = logging.getLogger(__name__)

LOG_PREFIX = "_landed/log/"
TAIL_KEY = "_landed/tail.json"
SEQ_DIGITS = 16
PER_FOLDER = 1000
"""Entries per folder of the log. MinIO lists after a key by reading the folders on the way, so
a flat log of 100,000 entries took 37.5 ms to list after a position, against 4.0 ms at 1,000;
folders keep each listing to the last one or two."""
NOTHING = -1
"""The position before the first entry."""


@dataclass(frozen=True)
class LandedEntry:
    seq: int
    key: str
    """The raw object's key in the lake bucket."""
    landed_at: str


def entry_key(seq: int) -> str:
    return f"{LOG_PREFIX}{seq // PER_FOLDER:0{SEQ_DIGITS}d}/{seq:0{SEQ_DIGITS}d}.json"


def seq_of(key: str) -> int:
    """The number of a log entry's key; ValueError, naming the key, for anything else."""
    folder, _, name = key.removeprefix(LOG_PREFIX).removesuffix(".json").partition("/")
    if (
        not key.startswith(LOG_PREFIX)
        or not (len(folder) == len(name) == SEQ_DIGITS and folder.isdigit() and name.isdigit())
        or int(folder) != int(name) // PER_FOLDER
    ):
        raise ValueError(f"{key!r} is not a landed-log entry ({entry_key(0)}, ...)")
    return int(name)


class LandedLog:
    """Appends raw keys to the bucket's landed log, and reads what follows a position."""

    def __init__(self, s3: S3Objects, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket

    def append(self, raw_key: str) -> int:
        """Log `raw_key` under the next free number, and return that number."""
        body = json.dumps({"key": raw_key, "landed_at": datetime.now(UTC).isoformat()}).encode()
        last = self.end()
        while not put_if_absent(self.s3, self.bucket, entry_key(last + 1), body):
            last = self._last_from(last + 1)  # another writer took it: list on from there
        seq = last + 1
        self._advance_tail_hint(seq)
        return seq

    def end(self) -> int:
        """The log's last number (NOTHING while it is empty), listed from the tail hint."""
        return self._last_from(self._tail_hint())

    def entry_seqs_after(self, seq: int, limit: int | None = None) -> list[int]:
        """The numbers after `seq`, up to `limit` of them; stops at a gap (none should exist:
        see the module doc), so a reader never passes a number it has not read."""
        found: list[int] = []
        for number in self._seqs_after(seq):
            if number != (found[-1] if found else seq) + 1:
                log.error("the landed log has a gap after %d (next is %d): reading stops there",
                          found[-1] if found else seq, number)  # fmt: skip
                break
            found.append(number)
            if limit is not None and len(found) >= limit:
                break
        return found

    def read(self, seq: int) -> LandedEntry:
        """The entry numbered `seq`; a malformed entry raises ValueError naming it."""
        key = entry_key(seq)
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        try:
            fields = json.loads(body)
            return LandedEntry(seq=seq, key=str(fields["key"]), landed_at=str(fields["landed_at"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"landed-log entry {key} is malformed: {body[:200]!r}") from exc

    def _seqs_after(self, seq: int) -> Iterator[int]:
        after = entry_key(seq) if seq > NOTHING else ""
        return (seq_of(key) for key in list_keys(self.s3, self.bucket, LOG_PREFIX, after))

    def _last_from(self, seq: int) -> int:
        """The last number of the log, listed from `seq`, an entry that exists (or NOTHING).

        A `seq` that is not there (a hint left over from a log that was deleted) would let the
        next entry leave a gap: the log is then listed from its start instead."""
        numbers = self._seqs_after(seq - 1 if seq > NOTHING else NOTHING)
        last = next(numbers, NOTHING)
        if last != seq and seq > NOTHING:
            log.warning("%s is not in the landed log: listing it from the start", entry_key(seq))
            return self._last_from(NOTHING)
        return max(numbers, default=last)  # key order is number order

    def _tail_hint(self) -> int:
        body = get_if_present(self.s3, self.bucket, TAIL_KEY)
        if body is None:
            return NOTHING
        try:
            return int(json.loads(body)["seq"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring a malformed %s: %r", TAIL_KEY, body[:200])
            return NOTHING

    def _advance_tail_hint(self, seq: int) -> None:
        """Best effort: a lost hint only makes the next writer list a little more."""
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=TAIL_KEY,
                Body=json.dumps({"seq": seq}).encode(),
                ContentType="application/json",
            )
        except ClientError as exc:
            log.warning("could not advance %s to %d: %s", TAIL_KEY, seq, exc)
