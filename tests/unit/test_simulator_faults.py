"""The simulator's faults: per request, queued, or drawn from configured probabilities."""

from __future__ import annotations

import json
import time
import warnings
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from lakehouse.config import Settings, SimulatorSettings
from lakehouse.simulator.app import create_app, injector_from_settings
from lakehouse.simulator.faults import Fault, FaultInjector, drift, parse_probabilities

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

NOW = datetime(2024, 3, 25, 8, 45, 37, tzinfo=UTC)
PRICE = ("/api/v3/simple/price", {"ids": "bitcoin", "vs_currencies": "usd"})
DEVICE = ("/v0/devices/13006", {})


# No per-minute limits: these tests are about faults (a limiter's 429 would look like an injected
# one, and some draw hundreds of requests on a fixed clock). The limits' own tests are in
# test_simulator_rate_limits.py.
UNLIMITED = SimulatorSettings(coingecko_rate_limit=0, smartcitizen_rate_limit=0)


def sim(injector: FaultInjector | None = None) -> TestClient:
    app = create_app(clock=lambda: NOW, faults=injector, settings=UNLIMITED)
    return TestClient(app, base_url="http://sim")


def get(client: TestClient, target: tuple[str, dict[str, Any]], fault: str | None = None) -> Any:
    path, params = target
    headers = {"X-Simulator-Fault": fault} if fault else {}
    return client.get(path, params=params, headers=headers)


def test_429_carries_retry_after_and_the_apis_body(load_sample: Any) -> None:
    client = sim(FaultInjector(retry_after=7))

    default = get(client, PRICE, "429")
    explicit = get(client, PRICE, "429:119")

    assert default.status_code == 429 and default.headers["retry-after"] == "7"
    assert explicit.headers["retry-after"] == "119"
    assert default.json() == load_sample("coingecko", "error_429_rate_limit_2022-09-29.json")
    smartcitizen = get(client, DEVICE, "429")
    assert smartcitizen.status_code == 429 and smartcitizen.json()["id"] == "too_many_requests"


def test_500() -> None:
    client = sim()
    assert get(client, PRICE, "500").status_code == 500
    response = get(client, DEVICE, "500")
    assert response.status_code == 500
    assert response.json()["id"] == "internal_server_error"


def test_html_error_page_comes_with_200() -> None:
    response = get(sim(), PRICE, "html")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>")


def test_malformed_json_is_cut_short_with_a_json_content_type() -> None:
    client = sim()
    good = get(client, PRICE).text
    response = get(client, PRICE, "malformed")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert good.startswith(response.text) and response.text != good
    with pytest.raises(ValueError):
        json.loads(response.text)


def test_slow_answers_late_but_right() -> None:
    client = sim()
    start = time.monotonic()
    response = get(client, PRICE, "slow:0.3")

    assert time.monotonic() - start >= 0.3
    assert response.json() == get(client, PRICE).json()


@pytest.mark.parametrize("how", ["strings", "nulls", "missing", None])
def test_drift_changes_the_shape_deterministically(how: str | None) -> None:
    client = sim()
    good = get(client, DEVICE).json()
    fault = "drift" if how is None else f"drift:{how}"

    first = get(client, DEVICE, fault)
    second = get(client, DEVICE, fault)

    assert first.status_code == 200
    assert first.content == second.content
    assert first.json() == drift(good, how)
    assert first.json() != good


def test_drift_kinds() -> None:
    body = {"a": 1, "b": 2.5, "c": [1, 2, 3], "d": {"e": True, "f": None, "g": "x"}}

    assert drift(body, "strings") == {
        "a": "1", "b": "2.5", "c": ["1", "2", "3"], "d": {"e": True, "f": None, "g": "x"}
    }  # fmt: skip
    nulls = drift({f"k{i}": i for i in range(60)}, "nulls")
    assert 0 < sum(value is None for value in nulls.values()) < 60
    missing = drift({f"k{i}": i for i in range(60)}, "missing")
    assert 0 < len(missing) < 60
    assert all(missing[key] == int(key[1:]) for key in missing)


def test_the_query_parameter_works_like_the_header() -> None:
    path, params = PRICE
    assert sim().get(path, params={**params, "sim_fault": "500"}).status_code == 500


def test_queued_faults_hit_the_next_requests_in_order() -> None:
    client = sim()
    queued = client.post("/_simulator/faults", json={"queue": ["500", "429:5"]})
    assert queued.json()["queued"] == ["500", "429:5"]

    statuses = [get(client, PRICE).status_code for _ in range(3)]

    assert statuses == [500, 429, 200]
    assert client.get("/_simulator/faults").json()["injected"] == ["500", "429:5"]


def test_configured_probabilities_with_a_seed_repeat_exactly() -> None:
    def draws() -> list[str | None]:
        injector = FaultInjector({"500": 0.3, "429": 0.2}, seed=7)
        return [None if (f := injector.choose(None)) is None else f.kind for _ in range(1000)]

    def statuses() -> list[int]:
        client = sim(FaultInjector({"500": 0.3, "429": 0.2}, seed=7, retry_after=1))
        return [get(client, PRICE).status_code for _ in range(30)]

    first = draws()
    assert first == draws()
    counts = Counter(first)
    assert 250 <= counts["500"] <= 350 and 150 <= counts["429"] <= 250
    expected = [{"500": 500, "429": 429, None: 200}[kind] for kind in first[:30]]
    assert statuses() == expected


def test_probabilities_can_be_set_at_run_time_and_reset() -> None:
    client = sim()
    client.post("/_simulator/faults", json={"probabilities": {"500": 1.0}})
    assert get(client, PRICE).status_code == 500
    client.post("/_simulator/faults", json={"reset": True})
    assert get(client, PRICE).status_code == 200
    assert client.get("/_simulator/faults").json()["injected"] == []


def test_ping_never_fails_so_health_checks_stay_true() -> None:
    client = sim(FaultInjector({"500": 1.0}))
    assert client.get("/api/v3/ping").status_code == 200
    assert get(client, PRICE).status_code == 500


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("404=0.1", "unknown fault '404'"),
        ("500", "write KIND=PROBABILITY"),
        ("500=lots", "probability 'lots' is not a number"),
        ("500=1.5", "not within 0..1"),
        ("500=0.6,429=0.6", "add up to more than 1"),
    ],
)
def test_bad_fault_specs_are_refused(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_probabilities(spec)


@pytest.mark.parametrize(
    ("text", "message"),
    [("teapot", "unknown fault"), ("429:soon", "not a number"), ("drift:weird", "not one of"),
     ("500:3", "takes no argument")],
)  # fmt: skip
def test_bad_per_request_faults_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Fault.parse(text)
    response = get(sim(), PRICE, text)
    assert response.status_code == 400
    assert "simulator:" in response.json()["error"]


def test_settings_configure_the_injector_from_the_environment(tmp_path: Any) -> None:
    settings = Settings.from_env(
        {
            "LAKEHOUSE_HOME": str(tmp_path),
            "LAKEHOUSE_SIMULATOR_FAULTS": "429=0.05, slow=0.01",
            "LAKEHOUSE_SIMULATOR_FAULT_SEED": "3",
            "LAKEHOUSE_SIMULATOR_RETRY_AFTER": "30",
            "LAKEHOUSE_SIMULATOR_SLOW_SECONDS": "2.5",
        }
    )

    injector = injector_from_settings(settings.simulator)

    assert settings.simulator == SimulatorSettings("429=0.05, slow=0.01", 3, 30, 2.5)
    assert injector.state()["probabilities"] == {"429": 0.05, "slow": 0.01}
    assert (injector.seed, injector.retry_after, injector.slow_seconds) == (3, 30, 2.5)
