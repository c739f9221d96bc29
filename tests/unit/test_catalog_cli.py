"""`lakehouse tables`, `lakehouse history` and `lakehouse query --as-of` on real Delta tables.

The tables are written with delta-rs into a local lake, commit by commit, so the versions, row
counts and times the commands print can be checked against what was written.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from lakehouse.cli import main as lakehouse
from lakehouse.tables import SILVER_COIN_PRICES


def prices(coin: str, *values: float) -> pa.Table:
    ts = pa.array([datetime(2024, 5, 1, 10, i, tzinfo=UTC) for i in range(len(values))])
    return pa.table(
        {"coin_id": [coin] * len(values), "price_ts": ts.cast(pa.timestamp("us", tz="UTC")),
         "price": list(values)}
    )  # fmt: skip


@pytest.fixture
def lake(tmp_path: Path) -> tuple[Path, datetime]:
    """silver.coin_prices: version 0 with 2 bitcoin rows, version 1 adds 3 ethereum rows."""
    path = str(tmp_path / SILVER_COIN_PRICES.path)
    write_deltalake(path, prices("bitcoin", 1.0, 2.0))
    time.sleep(1.1)
    between = datetime.now(UTC)
    time.sleep(1.1)
    write_deltalake(path, prices("ethereum", 3.0, 4.0, 5.0), mode="append")
    return tmp_path, between


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, object]]:
    assert lakehouse([*argv, "--format", "json"]) == 0
    result: list[dict[str, object]] = json.loads(capsys.readouterr().out)
    return result


def test_tables_lists_versions_rows_and_files_from_the_log(
    lake: tuple[Path, datetime], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = lake
    before = datetime.now(UTC)

    (row,) = run_json(capsys, "tables", "--lake", str(root))

    assert row["table"] == "silver.coin_prices"
    assert (row["version"], row["rows"], row["files"]) == (1, 5, 2)
    assert row["operation"] == "WRITE"
    age = (before - datetime.fromisoformat(str(row["last_commit"]))).total_seconds()
    assert -1 < age < 60 and isinstance(row["age_s"], int)


def test_history_shows_each_commit_newest_first(
    lake: tuple[Path, datetime], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = lake

    commits = run_json(capsys, "history", "silver.coin_prices", "--lake", str(root))

    assert [c["version"] for c in commits] == [1, 0]
    assert json.loads(str(commits[0]["metrics"]))["num_added_rows"] == 3


def test_history_of_an_unknown_table_lists_the_known_ones(
    lake: tuple[Path, datetime], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = lake

    assert lakehouse(["history", "silver.coin_price", "--lake", str(root)]) == 1

    err = capsys.readouterr().err
    assert "unknown table 'silver.coin_price'" in err and "silver.coin_prices" in err


@pytest.mark.parametrize("as_of", ["0", "between"])
def test_query_as_of_returns_the_older_rows(
    lake: tuple[Path, datetime], capsys: pytest.CaptureFixture[str], as_of: str
) -> None:
    root, between = lake
    when = between.isoformat() if as_of == "between" else as_of
    sql = "select coin_id, count(*) n from silver.coin_prices group by 1 order by 1"

    old = run_json(capsys, "query", sql, "--lake", str(root), "--as-of", when)
    now = run_json(capsys, "query", sql, "--lake", str(root))

    assert old == [{"coin_id": "bitcoin", "n": 2}]
    assert now == [{"coin_id": "bitcoin", "n": 2}, {"coin_id": "ethereum", "n": 3}]


def test_query_as_of_before_the_table_or_past_its_versions_says_it_is_absent(
    lake: tuple[Path, datetime], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = lake
    for when in ("2000-01-01T00:00:00", "7"):
        assert lakehouse(["query", "select 1 from silver.coin_prices", "--lake", str(root),
                          "--as-of", when]) == 1  # fmt: skip
        assert "does not exist" in capsys.readouterr().err


def test_a_bad_as_of_is_refused_by_value(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        lakehouse(["query", "select 1", "--as-of", "yesterday"])
    assert "'yesterday' is neither a version number nor an ISO 8601 time" in capsys.readouterr().err
