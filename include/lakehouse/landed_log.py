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

Only the writer whose PUT created an object logs it (`lakehouse.raw_zone.RawZoneWriter`): readers
take a key logged twice in one batch once, but not across batches. An object whose writer died (or
lost the lake) between its PUT and its entry is not in the log: `reconcile`, off the stream's
path (the DAG `reconcile_landed_log`), lists the raw zone and logs every object that is neither
logged nor younger than a grace period. It remembers which keys are logged
(`_landed/reconciled.json.gz`), so it reads only the entries added since its last run, and never
logs a key twice itself. A key is logged twice only when its writer stalled for longer than the
grace period between its PUT and its entry, and then resumed.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError

from lakehouse.s3_objects import (
    S3Objects,
    get_if_present,
    list_keys,
    list_objects,
    put_if_absent,
)

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
RECONCILED_KEY = "_landed/reconciled.json.gz"
ENTRY_READS_AT_ONCE = 16
"""Entries read at once (a reconciliation or a stream's catch-up reads thousands)."""


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
        return self.append_all([raw_key])[0]

    def append_all(self, raw_keys: Sequence[str]) -> list[int]:
        """Log each key, in order, under the next free number; their numbers."""
        seqs: list[int] = []
        last = self.end() if raw_keys else NOTHING
        for raw_key in raw_keys:
            landed_at = datetime.now(UTC).isoformat()
            body = json.dumps({"key": raw_key, "landed_at": landed_at}).encode()
            while not put_if_absent(self.s3, self.bucket, entry_key(last + 1), body):
                last = self._last_from(last + 1)  # another writer took it: list on from there
            last += 1
            seqs.append(last)
        if seqs:
            self._advance_tail_hint(seqs[-1])
        return seqs

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

    def read_all(self, seqs: Sequence[int]) -> list[LandedEntry]:
        """The entries numbered `seqs`, in that order, several read at once."""
        with ThreadPoolExecutor(max_workers=ENTRY_READS_AT_ONCE) as pool:
            return list(pool.map(self.read, seqs))

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


@dataclass(frozen=True)
class Reconciliation:
    """What one `reconcile` found in the raw zone."""

    listed: int
    logged: tuple[str, ...]
    """The objects no writer had logged, which this run logged."""
    young: int
    """Objects not logged yet, younger than the grace period: their writers may still log them."""

    def summary(self) -> str:
        return (
            f"{self.listed} raw objects listed, {len(self.logged)} logged by reconciliation"
            f" ({self.young} younger than the grace period left to their writers)"
        )


def reconcile(
    landed: LandedLog, raw_prefix: str, now: datetime, grace: timedelta
) -> Reconciliation:
    """Log every raw object (`*.json` under `raw_prefix`, what the stream reads) that the landed
    log lacks and that landed before `now - grace`: `grace` is how long a writer has to log the
    object it landed (it does so right after its PUT) before it is taken for dead.

    `now` must be taken before this call: a key is then logged here only if its writer had not
    logged it `grace` after its PUT. One reconciliation runs at a time (the DAG's
    max_active_runs); two at once could log a key twice.
    """
    through, logged = _logged_keys(landed)
    young = 0
    unlogged: list[str] = []
    listed = 0
    for item in list_objects(landed.s3, landed.bucket, f"{raw_prefix.rstrip('/')}/"):
        key = str(item["Key"])
        if not key.endswith(".json"):
            continue
        listed += 1
        if key in logged:
            continue
        if now - item["LastModified"] < grace:
            young += 1
        else:
            unlogged.append(key)
    if unlogged:
        log.warning("logging %d raw objects that no writer logged, e.g. %s", len(unlogged),
                    ", ".join(unlogged[:5]))  # fmt: skip
        landed.append_all(unlogged)
    # The entries just appended are read back next time, with those of the writers after `through`.
    _save_logged_keys(landed, through, logged.union(unlogged))
    return Reconciliation(listed=listed, logged=tuple(unlogged), young=young)


def _logged_keys(landed: LandedLog) -> tuple[int, set[str]]:
    """The keys the log holds, and the last number read: the saved set, then the entries since."""
    body = get_if_present(landed.s3, landed.bucket, RECONCILED_KEY)
    through, keys = NOTHING, set[str]()
    if body is not None:
        try:
            state = json.loads(gzip.decompress(body))
            through, keys = int(state["through"]), {str(key) for key in state["keys"]}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("%s is unreadable (%s): reading the whole landed log", RECONCILED_KEY, exc)
    seqs = landed.entry_seqs_after(through)
    keys.update(entry.key for entry in landed.read_all(seqs))
    return (seqs[-1] if seqs else through), keys


def _save_logged_keys(landed: LandedLog, through: int, keys: set[str]) -> None:
    body = gzip.compress(json.dumps({"through": through, "keys": sorted(keys)}).encode())
    landed.s3.put_object(
        Bucket=landed.bucket, Key=RECONCILED_KEY, Body=body, ContentType="application/gzip"
    )
