"""`make bench`: every benchmark, one after another, into one table and `bench/results/<date>.json`.

    .venv/bin/python bench/run.py            # everything (well over an hour on 2 cores: the trigger
                                             # cost lands 100,000 objects, then reads them twice)
    .venv/bin/python bench/run.py --quick    # fewer probes, objects and runs (minutes)
    .venv/bin/python bench/run.py --only stack,floor

The order matters: the running stack's figures come first, alone on the machine; then the floor
(a bare JSON -> Delta stream with the same trigger, while the stack's stream is paused); then the
benchmarks that start Spark jobs of their own. Sections that need the running stack (`make demo`)
report nothing without it. None of this runs in `make test`: figures are measured, not asserted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import batch_cost
import catch_up
import floor
import landed_log
import query_point
import stack_latency
import trigger_cost
from figures import Figure, markdown, write_results

RESULTS = Path(__file__).resolve().parent / "results"

SECTIONS: dict[str, Callable[[bool], list[Figure]]] = {
    stack_latency.SECTION: stack_latency.measure,
    floor.SECTION: floor.measure,
    trigger_cost.SECTION: trigger_cost.measure,
    landed_log.SECTION: landed_log.measure,
    catch_up.SECTION: catch_up.measure,
    batch_cost.SECTION: batch_cost.measure,
    query_point.SECTION: query_point.measure,
}


def ratio_to_floor(figures: list[Figure]) -> list[Figure]:
    """Silver's p95 over the floor's, when both were measured in this run."""
    p95 = {
        f.section: f.value
        for f in figures
        if f.name.endswith("p95")
        and f.value
        and f.name.startswith(("landed -> silver", "landed -> visible"))
    }
    if stack_latency.SECTION not in p95 or floor.SECTION not in p95:
        return []
    ratio = p95[stack_latency.SECTION] / p95[floor.SECTION]
    return [Figure("ratio", "landed -> silver p95 / floor p95", ratio, "x", "<= 1.5", ratio <= 1.5)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short run of every section")
    parser.add_argument(
        "--only", default="", help=f"comma-separated sections, of: {', '.join(SECTIONS)}"
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="where results are written")
    args = parser.parse_args(argv)
    chosen = [name for name in args.only.split(",") if name] or list(SECTIONS)
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    figures: list[Figure] = []
    failed = []
    for name in chosen:
        print(f"== {name}", flush=True)
        try:
            figures += SECTIONS[name](args.quick)
        except (Exception, SystemExit) as error:  # the other sections' figures still count
            print(f"{name} failed: {error}", file=sys.stderr, flush=True)
            failed.append(name)
            figures.append(Figure(name, f"failed: {str(error)[:200]}", None))
    figures += ratio_to_floor(figures)
    print()
    print(markdown(figures))
    json_path, md_path = write_results(figures, args.results, quick=args.quick)
    print(f"written: {json_path} and {md_path}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
