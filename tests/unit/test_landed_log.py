"""The landed log numbers every landed key without gaps, also under racing writers."""

from __future__ import annotations

import json
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from memory_s3 import MemoryS3

from lakehouse.landed_log import NOTHING, TAIL_KEY, LandedLog, entry_key, seq_of

BUCKET = "lake"


def raw_key(i: int) -> str:
    return f"raw/coingecko/simple_price/date=2026-12-06/hour=05/20261206T0500{i:02d}Z_{i}.json"


def test_appends_are_numbered_in_order_and_read_back() -> None:
    landed = LandedLog(MemoryS3(), BUCKET)
    assert landed.end() == NOTHING
    assert [landed.append(raw_key(i)) for i in range(5)] == [0, 1, 2, 3, 4]
    assert landed.end() == 4
    assert landed.entry_seqs_after(NOTHING) == [0, 1, 2, 3, 4]
    assert landed.entry_seqs_after(2) == [3, 4]
    assert landed.entry_seqs_after(4) == []
    assert landed.entry_seqs_after(0, limit=2) == [1, 2]
    assert [landed.read(seq).key for seq in range(5)] == [raw_key(i) for i in range(5)]


class SlowListingS3(MemoryS3):
    """Answers a listing a moment late, so that racing writers see the same end of the log."""

    def list_objects_v2(self, **kwargs: Any) -> dict[str, Any]:
        page = super().list_objects_v2(**kwargs)
        time.sleep(0.002)
        return page


def test_racing_writers_take_every_number_once_and_leave_no_gap() -> None:
    s3 = SlowListingS3()
    keys = [raw_key(i % 60) + f".{i}" for i in range(120)]
    with ThreadPoolExecutor(max_workers=8) as pool:  # a log per writer, as in separate tasks
        seqs = list(pool.map(lambda key: LandedLog(s3, BUCKET).append(key), keys))
    assert sorted(seqs) == list(range(len(keys)))
    landed = LandedLog(s3, BUCKET)
    assert landed.entry_seqs_after(NOTHING) == list(range(len(keys)))
    assert sorted(landed.read(seq).key for seq in range(len(keys))) == sorted(keys)


def test_an_append_lists_from_the_tail_hint_not_the_whole_log() -> None:
    s3 = MemoryS3()
    landed = LandedLog(s3, BUCKET)
    for i in range(40):
        landed.append(raw_key(i))
    s3.lists = 0
    landed.append(raw_key(40))
    assert s3.lists == 1  # the fake serves 2 keys a page: the whole log would take 20 pages
    assert json.loads(s3.objects[TAIL_KEY]) == {"seq": 40}


def test_a_hint_past_the_end_of_the_log_leaves_no_gap(caplog: pytest.LogCaptureFixture) -> None:
    s3 = MemoryS3()
    landed = LandedLog(s3, BUCKET)
    landed.append(raw_key(0))
    s3.objects[TAIL_KEY] = json.dumps({"seq": 7}).encode()  # e.g. the log was emptied, not the hint
    with caplog.at_level(logging.WARNING):
        assert landed.append(raw_key(1)) == 1
    assert entry_key(7) in caplog.text


def test_a_reader_stops_at_a_gap_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    s3 = MemoryS3()
    landed = LandedLog(s3, BUCKET)
    for i in range(5):
        landed.append(raw_key(i))
    del s3.objects[entry_key(2)]
    with caplog.at_level(logging.ERROR):
        assert landed.entry_seqs_after(NOTHING) == [0, 1]
    assert "gap after 1" in caplog.text


def test_a_malformed_entry_or_key_is_named() -> None:
    s3 = MemoryS3()
    s3.objects[entry_key(0)] = b"{not json"
    with pytest.raises(ValueError, match=re.escape(entry_key(0))):
        LandedLog(s3, BUCKET).read(0)
    for bad in ("_landed/log/12.json", entry_key(1000).replace("0001/", "0002/")):
        with pytest.raises(ValueError, match=re.escape(bad)):
            seq_of(bad)


def test_entry_keys_sort_in_number_order_across_folders() -> None:
    numbers = [0, 1, 999, 1000, 1001, 99_999, 100_000, 1_234_567]
    assert sorted(numbers, key=entry_key) == numbers
    assert [seq_of(entry_key(n)) for n in numbers] == numbers
    assert entry_key(1000) == "_landed/log/0000000000000001/0000000000001000.json"
