"""The Lakehouse page: who may call it, and the figures it reads from real Delta tables.

The page's data comes from `lakehouse.overview`, checked here on a local lake written with
delta-rs; its app is checked with FastAPI's test client: anonymous callers get 401 on every route,
and only an admin may stop or start the stream. The page on the running stack, and its figures
against `lakehouse tables`, are checked end to end in tests/e2e/test_demo_stack.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from deltalake import write_deltalake
from fastapi.testclient import TestClient

from lakehouse import overview
from lakehouse.spark.control import LocalStore, stop_requested
from lakehouse.tables import OPS_STREAM_PROGRESS, SILVER_COIN_PRICES, SILVER_QUARANTINE
from lakehouse_airflow import lake_page

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def ts(*minutes: int) -> pa.Array:
    return pa.array([NOW - timedelta(minutes=m) for m in minutes], pa.timestamp("us", tz="UTC"))


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    """silver.coin_prices (two series, one hourly point left out of the chart) and three batches
    of ops.stream_progress."""
    write_deltalake(
        str(tmp_path / SILVER_COIN_PRICES.path),
        pa.table({
            "coin_id": ["bitcoin", "bitcoin", "ethereum", "bitcoin"],
            "vs_currency": ["usd", "usd", "usd", "usd"],
            "price_ts": ts(2, 1, 1, 300),
            "price": [100.0, 101.0, 5.0, 90.0],
            "resolution": ["1m", "1m", "1m", "1h"],
        }),
    )  # fmt: skip
    durations = pa.array(
        [[("triggerExecution", 4000)], [("triggerExecution", 6000)], [("triggerExecution", 5000)]],
        pa.map_(pa.string(), pa.int64()),
    )
    lags = pa.array(
        [[("silver.coin_prices", 9.5)], [], [("silver.coin_prices", 12.0)]],
        pa.map_(pa.string(), pa.float64()),
    )
    write_deltalake(
        str(tmp_path / OPS_STREAM_PROGRESS.path),
        pa.table({
            "batch_id": pa.array([7, 8, 9], pa.int64()),
            "batch_started_at": ts(3, 2, 1),
            "input_rows": pa.array([5, 0, 3], pa.int64()),
            "duration_ms": durations,
            "lag_seconds": lags,
        }),
    )  # fmt: skip
    return tmp_path


def test_charts_group_each_series_and_keep_only_minute_prices_of_the_window(lake: Path) -> None:
    charts = overview.charts(str(lake), {}, since=NOW - timedelta(hours=3), last_batches=2)

    assert charts.prices == [
        {
            "series": "bitcoin/usd",
            "points": [
                [(NOW - timedelta(minutes=2)).isoformat(), 100.0],
                [(NOW - timedelta(minutes=1)).isoformat(), 101.0],
            ],
        },
        {"series": "ethereum/usd", "points": [[(NOW - timedelta(minutes=1)).isoformat(), 5.0]]},
    ]
    duration, freshness = charts.batches
    assert [point[1] for point in duration["points"]] == [4.0, 6.0, 5.0]
    assert [point[1] for point in freshness["points"]] == [9.5, None, 12.0]
    assert [batch["batch_id"] for batch in charts.last_batches] == [9, 8]  # newest first
    # Tables not written yet (sensor readings, the quarantine) read as empty, not as errors.
    assert charts.sensors == [] and charts.quarantine == []


def test_tables_carry_the_catalog_figures_and_their_freshness(lake: Path) -> None:
    strict = overview.tables(
        str(lake), {}, datetime.now(UTC) + timedelta(hours=1), overview.FreshnessSla(60)
    )
    lenient = overview.tables(str(lake), {}, datetime.now(UTC), overview.FreshnessSla(3600))

    by_name = {row["name"]: row for row in lenient}
    assert by_name["silver.coin_prices"]["rows"] == 4
    assert by_name["ops.stream_progress"]["version"] == 0
    assert {row["freshness"] for row in lenient} == {"green"}
    assert {row["freshness"] for row in strict} == {"red"}


def test_the_quarantine_has_no_freshness_it_is_quiet_while_all_is_well(tmp_path: Path) -> None:
    write_deltalake(
        str(tmp_path / SILVER_QUARANTINE.path), pa.table({"reason": pa.array([], pa.string())})
    )
    a_day_later = datetime.now(UTC) + timedelta(days=1)

    (row,) = overview.tables(str(tmp_path), {}, a_day_later, overview.FreshnessSla(60))

    assert (row["name"], row["freshness"]) == ("silver.quarantine", "none")


@pytest.mark.parametrize(
    ("age_s", "expected"),
    [(59, "green"), (60, "green"), (61, "amber"), (120, "amber"), (121, "red")],
)
def test_freshness_is_green_within_the_sla_and_amber_up_to_twice_it(
    age_s: int, expected: str
) -> None:
    assert overview.FreshnessSla(60).status(timedelta(seconds=age_s)) == expected


def test_a_freshness_sla_must_be_positive() -> None:
    with pytest.raises(ValueError, match="not 0"):
        overview.FreshnessSla(0)


def routes() -> list[tuple[str, str]]:
    return [
        (method, getattr(route, "path", ""))
        for route in lake_page.app.routes
        for method in sorted(getattr(route, "methods", None) or ())
        if method != "HEAD"
        and not str(getattr(route, "path", "")).startswith(("/docs", "/openapi", "/redoc"))
    ]


def test_every_route_of_the_page_refuses_an_anonymous_caller() -> None:
    client = TestClient(lake_page.app)
    checked = routes()
    assert {path for _, path in checked} >= {
        "/",
        "/api/tables",
        "/api/overview",
        "/api/stream/{action}",
    }
    for method, path in checked:
        response = client.request(method, path.replace("{action}", "stop"))
        assert response.status_code == 401, (method, path, response.text)


@pytest.fixture
def control(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalStore:
    store = LocalStore(tmp_path)
    monkeypatch.setattr("lakehouse_airflow.hooks.lake_control_store", lambda bucket: store)
    monkeypatch.setattr(lake_page, "_bucket", lambda: "lake")
    return store


def client_as(role: str) -> TestClient:
    user = SimpleAuthManagerUser(username=f"a-{role}", role=role)
    lake_page.app.dependency_overrides[lake_page.airflow_user] = lambda: user
    return TestClient(lake_page.app)


@pytest.fixture(autouse=True)
def _no_overrides() -> None:
    lake_page.app.dependency_overrides.clear()


@pytest.mark.parametrize("role", ["viewer", "user", "op"])
def test_only_an_admin_may_stop_or_start_the_stream(role: str, control: LocalStore) -> None:
    response = client_as(role).post("/api/stream/stop")

    assert response.status_code == 403, response.text
    assert not stop_requested(control)


def test_an_admin_stops_and_starts_the_stream(control: LocalStore) -> None:
    client = client_as("admin")

    stopped = client.post("/api/stream/stop")
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["stop_requested"] is True and stop_requested(control)

    started = client.post("/api/stream/start")
    assert started.json()["stop_requested"] is False and not stop_requested(control)
    assert client.post("/api/stream/restart").status_code == 404
