"""Shared fixtures of the unit tests.

The samples folder and a local SparkSession (no Delta jars: the transforms under test are pure).
The simulator and its fixed clock are in tests/conftest.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """../shared/samples next to the repository."""
    assert SAMPLES.is_dir(), f"samples folder not found at {SAMPLES}"
    return SAMPLES


@pytest.fixture(scope="session")
def load_sample(samples_dir: Path) -> Callable[[str, str], Any]:
    """load_sample("coingecko", "ping_docs_example_via_jkorf.json") -> the parsed JSON."""
    return lambda source, name: json.loads((samples_dir / source / name).read_bytes())


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("lakehouse-unit-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    try:
        yield session
    finally:
        session.stop()
