"""The fault suite's table (`make test-faults`): its rows, collected over the session."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

FULL_FAULTS = os.environ.get("LAKEHOUSE_FAULTS") == "full"
"""`make test-faults`: the full suite, with the issues' targets as gates; else the short run."""


@dataclass(frozen=True)
class FaultRow:
    """One line of the fault suite's table (`make test-faults`)."""

    fault: str
    injected: int
    expected: int
    """Records the lake must hold: raw objects in bronze plus distinct keys of the silver tables."""
    lost: int
    duplicated: int
    fresh_seconds: float | None
    """Worst time from a new driver taking the lease to silver holding every price landed before."""


FAULT_ROWS: list[FaultRow] = []


RecordFault = Callable[[str, int, int, int, int, "float | None"], None]
"""(fault, injected, expected, lost, duplicated, fresh seconds): one row of the fault table."""


def fault_table(rows: Iterable[FaultRow]) -> Iterator[str]:
    """The table as printed at the end of the session and copied into the README."""
    yield (
        f"{'fault':<22} {'injected':>8} {'expected':>8} {'lost':>5} {'duplicated':>10} "
        f"{'fresh s':>8}"
    )
    for row in rows:
        fresh = "-" if row.fresh_seconds is None else f"{row.fresh_seconds:.0f}"
        yield (
            f"{row.fault:<22} {row.injected:>8} {row.expected:>8} {row.lost:>5} "
            f"{row.duplicated:>10} {fresh:>8}"
        )
