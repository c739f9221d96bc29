"""The benchmark results: percentiles against targets, and the files `make bench` writes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from figures import Figure, markdown, spread, write_results


def test_spread_checks_each_percentile_against_its_own_target() -> None:
    delays = [float(n) for n in range(1, 101)]  # 1..100 s
    p50, p95, p99 = spread("stack", "landed -> silver", delays, {95: 90.0})
    assert (p50.name, p95.name, p99.name) == (
        "landed -> silver p50",
        "landed -> silver p95",
        "landed -> silver p99",
    )
    assert p50.value == 50.5 and p50.met is None
    assert p95.value is not None and 95.0 <= p95.value <= 96.0
    assert p95.met is False and p95.target == "<= 90 s"
    assert p99.value is not None and p99.value <= 100.0
    assert all(f.samples == 100 for f in (p50, p95, p99))


def test_nothing_measured_is_no_figure_rather_than_a_met_target() -> None:
    figures = spread("stack", "landed -> gold", [], {95: 60.0})
    assert [f.value for f in figures] == [None, None, None]
    assert [f.met for f in figures] == [None, None, None]


def test_results_are_written_as_json_and_a_markdown_table(tmp_path: Path) -> None:
    figures = [
        Figure("stack", "landed -> silver p95", 41.5, target="<= 10 s", met=False, samples=30),
        Figure("stack", "memory: the stack", 4.5, "GiB", "<= 6 GiB", True),
    ]
    json_path, md_path = write_results(figures, tmp_path / "results", quick=True)
    document = json.loads(json_path.read_text())
    assert json_path.name.endswith("-quick.json") and document["quick"] is True
    assert document["figures"][0]["value"] == 41.5 and document["figures"][0]["met"] is False
    table = md_path.read_text()
    assert "| stack | landed -> silver p95 | 41.50 s | <= 10 s | **no** | 30 |" in table
    assert "| stack | memory: the stack | 4.50 GiB | <= 6 GiB | yes |  |" in table
    assert markdown(figures) in table


def test_a_failed_section_is_reported_and_the_others_are_still_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import run

    def fails(quick: bool) -> list[Figure]:
        raise SystemExit("0 rows in silver.coin_prices, expected 7948")

    def works(quick: bool) -> list[Figure]:
        return [Figure("works", "a figure", 1.5)]

    monkeypatch.setattr(run, "SECTIONS", {"fails": fails, "works": works})
    assert run.main(["--results", str(tmp_path)]) == 1
    (written,) = tmp_path.glob("*.json")
    figures = {
        (f["section"], f["name"]): f["value"] for f in json.loads(written.read_text())["figures"]
    }
    assert figures[("works", "a figure")] == 1.5
    assert figures[("fails", "failed: 0 rows in silver.coin_prices, expected 7948")] is None
