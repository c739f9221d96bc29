"""The collect DAGs as Airflow parses them, their trigger-form Params, and the hooks.

Airflow is loaded in a subprocess with its own AIRFLOW_HOME (it reads its configuration once per
process): the probe tests/airflow_probes/collect_dags.py prints what the tests check as JSON.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from airflow_probe import PROBES_DIR, run_probe

PROBE = PROBES_DIR / "collect_dags.py"


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    env = {
        "AIRFLOW_CONN_COINGECKO_API": json.dumps(
            {"conn_type": "http", "host": "http://127.0.0.1:8090/api/v3",
             "password": "CG-hook-secret", "extra": {"plan": "pro"}}
        ),
        "AIRFLOW_CONN_SMARTCITIZEN_API": json.dumps(
            {"conn_type": "http", "extra": {"rate_limit_per_minute": 60}}
        ),
        "SMARTCITIZEN_DEVICES": "13006,16777",
        "SMARTCITIZEN_WORLD_MAP": "true",
        "COINGECKO_MARKETS_EVERY_MINUTES": "5",
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROBES_DIR.parents[1] / "plugins"),
    }  # fmt: skip
    home = tmp_path_factory.mktemp("airflow-home")
    return run_probe(PROBE, home, env, drop_prefixes=("AIRFLOW", "COINGECKO_"))


def test_the_dags_import_cleanly_and_wire_their_tasks_to_the_pools(parsed: dict[str, Any]) -> None:
    assert parsed["import_errors"] == {}
    coingecko = parsed["dags"]["collect_coingecko"]
    smartcitizen = parsed["dags"]["collect_smartcitizen"]
    assert coingecko["tasks"] == {"prices": "coingecko_api", "markets": "coingecko_api"}
    assert smartcitizen["tasks"] == {"devices": "smartcitizen_api", "world_map": "smartcitizen_api"}
    for dag in (coingecko, smartcitizen):
        assert dag["timetable"] == "CronDataIntervalTimetable"
        assert dag["doc"]


def test_param_defaults_come_from_the_configuration(parsed: dict[str, Any]) -> None:
    assert parsed["dags"]["collect_coingecko"]["params"] == {
        "coins": ["bitcoin", "ethereum", "solana"],
        "currencies": ["usd", "eur"],
        "top_n": 100,
        "prices_every_minutes": 1,
        "markets_every_minutes": 5,
        "history": False,
    }
    assert parsed["dags"]["collect_smartcitizen"]["params"] == {
        "devices": [13006, 16777],
        "world_map": True,
        "history": False,
    }


def test_the_trigger_form_refuses_bad_params_with_a_clear_message(parsed: dict[str, Any]) -> None:
    refused = parsed["dags"]["collect_coingecko"]["refused"]
    assert set(refused) == {
        "coins=['Bitcoin']", "coins=['bitcoin', ' ethereum']", "coins=[]",
        "coins='bitcoin,ethereum'", "currencies=['usd', 'EUR']", "top_n=0", "top_n=5000",
        "top_n='ten'", "history='yes'",
    }  # fmt: skip
    assert refused["coins=['Bitcoin']"].startswith(
        "ParamValidationError: Invalid input for param coins: 'Bitcoin' does not match "
        "'^[a-z0-9][a-z0-9-]*$'"
    )
    assert (
        "Invalid input for param top_n: 5000 is greater than the maximum of 1000"
        in (refused["top_n=5000"])
    )
    assert set(parsed["dags"]["collect_smartcitizen"]["refused"]) == {
        "devices=['abc']", "devices=[0]", "devices=[]", "world_map='yes'",
    }  # fmt: skip
    assert parsed["dags"]["collect_coingecko"]["accepted"] == ["coins", "top_n"]
    assert parsed["dags"]["collect_smartcitizen"]["accepted"] == ["devices", "world_map"]


def test_hooks_turn_connections_into_clients(parsed: dict[str, Any]) -> None:
    assert parsed["hooks"]["coingecko"] == [
        "pro", 500, "http://127.0.0.1:8090/api/v3", ["accept", "x-cg-pro-api-key"], True
    ]  # fmt: skip
    assert parsed["hooks"]["smartcitizen"] == [60, "https://api.smartcitizen.me/v0"]


def test_live_runs_weigh_more_than_backfills_after_serialization(parsed: dict[str, Any]) -> None:
    """The plugin registers the strategy, so the DAG serializes with it; the scheduler then gives
    live runs' tasks the pool first (lakehouse_airflow.priority)."""
    assert parsed["priority"]["rule"] == "lakehouse_airflow.priority.LiveFirst"
    assert parsed["priority"]["weights"] == {"scheduled": 100, "manual": 100, "backfill": 1}


def test_every_collect_task_retries_through_the_collect_retry_policy(
    parsed: dict[str, Any],
) -> None:
    for dag in parsed["dags"].values():
        assert {tuple(r) for r in dag["retries"].values()} == {(5, "CollectRetryPolicy")}
        assert dag["serialized_retry_policy"] is True  # the scheduler knows a policy decides


def test_the_healing_dag_has_a_task_per_source_with_history(parsed: dict[str, Any]) -> None:
    assert parsed["heal"]["tasks"] == {
        "coingecko": ["coingecko_api", "CollectRetryPolicy"],
        "smartcitizen": ["smartcitizen_api", "CollectRetryPolicy"],
    }
    assert parsed["heal"]["params"] == {"hours": 6.0}
    assert parsed["heal"]["schedule"] == ["DeltaTriggerTimetable", "0:01:00"]


def test_the_reconciliation_runs_alone_every_quarter_hour(parsed: dict[str, Any]) -> None:
    assert parsed["reconcile"] == {
        "tasks": ["reconcile"],
        "params": {"grace_minutes": 15},
        "schedule": "0:15:00",
        "max_active_runs": 1,  # two at once could log a key twice
        "doc": True,
    }
