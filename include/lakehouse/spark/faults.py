"""Named fault points: where a test makes the driver die at once, to prove exactly-once there.

A kill at a random moment rarely lands where a crash hurts most, so the fault suite also arms one
of these points. `LAKEHOUSE_FAULT_POINT=<point>:<n>` (read once, when this module is imported)
makes the driver log the point and `os._exit(EXIT_FAULT)` the n-th time it passes there: no
`finally`, no lease release, no Spark shutdown of its own, as after a SIGKILL. Unset (always in
production), `reached` returns at its first comparison.

The points, in the order a micro-batch passes them:

- `table_committed`: a table's Delta commit is done and the batch's next table is not written;
- `batch_committed`: every table of the batch is committed and Spark has not yet written the
  batch to the checkpoint's commit log (the replay after restart must then write nothing);
- `lease_renewal`: the renewal thread has read the lease and not yet rewritten it.
"""

from __future__ import annotations

import logging
import os
import threading
from enum import StrEnum

from lakehouse.spark.control import exit_at_once

log = logging.getLogger(__name__)

FAULT_ENV = "LAKEHOUSE_FAULT_POINT"
EXIT_FAULT = 86


class FaultPoint(StrEnum):
    TABLE_COMMITTED = "table_committed"
    BATCH_COMMITTED = "batch_committed"
    LEASE_RENEWAL = "lease_renewal"


def parse_armed(value: str | None) -> tuple[FaultPoint, int] | None:
    """`<point>[:<n>]` as (point, n >= 1); None when unset; ValueError naming a bad value."""
    if not value:
        return None
    name, _, nth = value.partition(":")
    try:
        point = FaultPoint(name.strip())
    except ValueError:
        known = ", ".join(p.value for p in FaultPoint)
        raise ValueError(f"{FAULT_ENV}={value!r}: unknown fault point {name!r} ({known})") from None
    if nth and (not nth.isdigit() or int(nth) < 1):
        raise ValueError(f"{FAULT_ENV}={value!r}: the hit number must be a whole number >= 1")
    return point, int(nth or 1)


_ARMED = parse_armed(os.environ.get(FAULT_ENV))
_hits = 0
_lock = threading.Lock()


def reached(point: FaultPoint) -> None:
    """Die here if this point is armed and this is its n-th pass; otherwise nothing."""
    if _ARMED is None or _ARMED[0] is not point:
        return
    global _hits
    with _lock:
        _hits += 1
        if _hits < _ARMED[1]:
            return
        log.error("fault point %s reached (pass %d): the driver dies here", point.value, _hits)
        exit_at_once(EXIT_FAULT)
