"""What every benchmark reports: named figures with their unit and target, and the results file.

`make bench` (bench/run.py) collects the figures of every benchmark into one run and writes them
to `bench/results/<date>.json` and `bench/results/<date>.md`, so that two days can be compared
figure by figure; each benchmark still runs alone and prints its own lines.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil


@dataclass(frozen=True)
class Figure:
    """One measured figure. `met` is None where there is no target, or nothing was measured."""

    section: str
    name: str
    value: float | None
    unit: str = "s"
    target: str = ""
    met: bool | None = None
    samples: int = 0


def quantile(values: Sequence[float], q: int) -> float:
    """The q-th percentile (inclusive method: never beyond the largest sample)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def spread(
    section: str, name: str, values: Sequence[float], targets: dict[int, float] | None = None
) -> list[Figure]:
    """The median, p95 and p99 of `values`, each checked against its target (by percentile)."""
    figures = []
    for q in (50, 95, 99):
        limit = (targets or {}).get(q)
        value = quantile(values, q) if values else None
        figures.append(
            Figure(
                section,
                f"{name} p{q}",
                value,
                target=f"<= {limit:g} s" if limit is not None else "",
                met=None if limit is None or value is None else value <= limit,
                samples=len(values),
            )
        )
    return figures


def markdown(figures: Sequence[Figure]) -> str:
    lines = ["| section | figure | value | target | met | samples |", "|---|---|---|---|---|---|"]
    for f in figures:
        value = "-" if f.value is None else f"{f.value:,.2f} {f.unit}".strip()
        met = {True: "yes", False: "**no**", None: ""}[f.met]
        lines.append(
            f"| {f.section} | {f.name} | {value} | {f.target} | {met} | {f.samples or ''} |"
        )
    return "\n".join(lines) + "\n"


def write_results(figures: Sequence[Figure], folder: Path, *, quick: bool) -> tuple[Path, Path]:
    """The run's figures as `<date>.json` and `<date>.md` in `folder` (today's run replaces any
    earlier one of the same day)."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    stem = now.strftime("%Y-%m-%d") + ("-quick" if quick else "")
    cores, memory_gib = psutil.cpu_count(), round(psutil.virtual_memory().total / 2**30, 1)
    document = {
        "measured_at": now.isoformat(timespec="seconds"),
        "quick": quick,
        "machine": {"cores": cores, "memory_gib": memory_gib, "python": platform.python_version()},
        "figures": [asdict(f) for f in figures],
    }
    json_path, md_path = folder / f"{stem}.json", folder / f"{stem}.md"
    json_path.write_text(json.dumps(document, indent=2) + "\n")
    md_path.write_text(
        f"# Benchmarks of {document['measured_at']}{' (quick)' if quick else ''}\n\n"
        f"{cores} cores, {memory_gib} GiB.\n\n" + markdown(figures)
    )
    return json_path, md_path


def run_alone(measure: Callable[[bool], list[Figure]], description: str | None, quick: str) -> int:
    """One benchmark on its own (`python bench/<name>.py [--quick]`): its figures, one a line."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help=quick)
    args = parser.parse_args()
    for figure in measure(args.quick):
        value = "-" if figure.value is None else f"{figure.value:,.2f} {figure.unit}".strip()
        print(f"{figure.name}: {value} {figure.target}".rstrip())
    return 0
