"""A source defined in the tests folder runs through `lakehouse collect` and the DAG factory
without any change to the lakehouse: one module, one registry entry (LAKEHOUSE_EXTRA_SOURCES)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from airflow_probe import PROBES_DIR, run_probe
from memory_s3 import MemoryS3

from lakehouse.cli import main
from lakehouse.config import Settings

THIRD_SOURCE = Path(__file__).resolve().parents[1] / "third_source"


@pytest.fixture
def echo_registered(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.syspath_prepend(str(THIRD_SOURCE))
    monkeypatch.setenv("LAKEHOUSE_EXTRA_SOURCES", "echo_source:SOURCE")
    monkeypatch.setenv("LAKEHOUSE_HOME", str(tmp_path))


def test_lakehouse_collect_runs_the_third_source(
    echo_registered: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = MemoryS3()
    monkeypatch.setattr("lakehouse.raw_zone.s3_client", lambda _lake: bucket)
    monkeypatch.setenv("ECHO_WORDS", "alpha,beta")

    assert main(["collect", "echo", "--interval-start", "2026-12-01T10:00:00Z"]) == 0

    landed = bucket.envelopes("raw/echo/echo/date=2026-12-01/hour=10/")
    assert sorted((e["payload"]["echo"], e["mode"], e["source"]) for e in landed) == [
        ("alpha", "history", "echo"),
        ("beta", "history", "echo"),
    ]
    assert capsys.readouterr().out.count("wrote s3://lake/raw/echo/echo/") == 2


def test_the_third_source_gets_settings_and_a_pool(echo_registered: None) -> None:
    settings = Settings.from_env()

    assert settings.pool_slots["echo_api"] == 1
    assert settings.sources["echo"].default_params() == {"words": ["hello", "world"]}


def test_an_unknown_extra_source_fails_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_EXTRA_SOURCES", "no_such_module:SOURCE")

    with pytest.raises(ValueError, match="cannot load 'no_such_module:SOURCE'"):
        Settings.from_env()


def test_the_dag_factory_builds_the_third_sources_dag(tmp_path: Path) -> None:
    parsed = run_probe(
        PROBES_DIR / "third_source_dag.py",
        tmp_path,
        {
            "LAKEHOUSE_EXTRA_SOURCES": "echo_source:SOURCE",
            "PYTHONPATH": os.pathsep.join([str(THIRD_SOURCE), os.environ.get("PYTHONPATH", "")]),
            "AIRFLOW_CONN_ECHO_API": json.dumps({"conn_type": "http", "host": "echo://probe"}),
        },
    )

    assert parsed["import_errors"] == {}
    assert parsed["tasks"] == {"words": "echo_api"}
    assert parsed["params"] == {"words": ["hello", "world"], "history": False}
    assert (parsed["fileloc"], parsed["doc"]) == ("collect_echo.py", True)
    assert (parsed["client_host"], parsed["rate_limit"]) == ("echo://probe", 60)
