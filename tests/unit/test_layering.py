"""The layers keep to their side: sources and the raw zone never load pyspark, and nothing under
include/ loads airflow (checked in a fresh interpreter, where sys.modules shows what was loaded)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CHECK = """
import json, sys
import lakehouse.cli, lakehouse.collect, lakehouse.raw_zone, lakehouse.sources.registry
from lakehouse.sources.registry import sources
sources()
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & {'pyspark', 'airflow'})))
"""


@pytest.mark.parametrize("forbidden", ["pyspark", "airflow"])
def test_collection_code_loads_neither_spark_nor_airflow(forbidden: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True, timeout=120
    )

    assert forbidden not in json.loads(result.stdout.strip().splitlines()[-1])


DAG_PARSE = """
import json, runpy, sys
runpy.run_path(sys.argv[1])
print(json.dumps('pyspark' in sys.modules))
"""


@pytest.mark.parametrize("dag", ["lakehouse_stream.py"])
def test_parsing_the_stream_dag_loads_no_spark(dag: str) -> None:
    """The dag-processor parses the DAG file every 30 s; it needs names and templates, not Spark."""
    from lakehouse.config import REPO_ROOT

    result = subprocess.run(
        [sys.executable, "-c", DAG_PARSE, str(REPO_ROOT / "dags" / dag)],
        capture_output=True, text=True, check=True, timeout=180,
    )  # fmt: skip

    assert json.loads(result.stdout.strip().splitlines()[-1]) is False
