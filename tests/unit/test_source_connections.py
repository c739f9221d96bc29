"""The runtime gives Airflow one Connection per registered source: the simulator in demo mode,
the configured API in live mode (a key only ever in the Connection's password)."""

from __future__ import annotations

import json
from pathlib import Path

from lakehouse.config import Settings
from lakehouse.runtime.airflow_stack import dag_ids, source_connections


def test_demo_connections_point_at_the_simulator(tmp_path: Path) -> None:
    settings = Settings.from_env({"LAKEHOUSE_HOME": str(tmp_path), "COINGECKO_API_KEY": "k"})

    connections = source_connections(settings, "demo")

    assert connections == {
        "AIRFLOW_CONN_COINGECKO_API": {
            "conn_type": "http",
            "host": "http://127.0.0.1:8090/api/v3",
            "extra": {"plan": "demo", "rate_limit_per_minute": 30},
        },
        "AIRFLOW_CONN_SMARTCITIZEN_API": {
            "conn_type": "http",
            "host": "http://127.0.0.1:8090/v0",
            "extra": {"rate_limit_per_minute": 120},
        },
    }


def test_live_connections_carry_the_configured_api(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "LAKEHOUSE_HOME": str(tmp_path),
            "COINGECKO_API_KEY": "CG-key",
            "COINGECKO_API_PLAN": "pro",
        }
    )

    connections = source_connections(settings, "live")

    assert connections["AIRFLOW_CONN_COINGECKO_API"] == {
        "conn_type": "http",
        "host": "https://pro-api.coingecko.com/api/v3",
        "password": "CG-key",
        "extra": {"plan": "pro", "rate_limit_per_minute": 500},
    }
    assert json.loads(json.dumps(connections["AIRFLOW_CONN_SMARTCITIZEN_API"])) == {
        "conn_type": "http",
        "host": "https://api.smartcitizen.me/v0",
        "extra": {"rate_limit_per_minute": 120},
    }


def test_every_source_has_a_dag_to_unpause() -> None:
    assert dag_ids() == (
        "collect_coingecko",
        "collect_smartcitizen",
        "heal_collections",
        "reconcile_landed_log",
        "lakehouse_stream",
    )
