"""Run a probe script in a fresh Python with its own AIRFLOW_HOME and read the JSON it prints.

Airflow reads its configuration once per process, so every probe gets a new interpreter. The probes
are modules in tests/airflow_probes (linted and type-checked like the rest, not collected by
pytest); each gets the repository root as `sys.argv[1]` and prints one line `PROBE<json>`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lakehouse.config import REPO_ROOT

PROBES_DIR = Path(__file__).resolve().parents[1] / "airflow_probes"


def run_probe(
    probe: Path,
    home: Path,
    extra_env: Mapping[str, str] | None = None,
    drop_prefixes: tuple[str, ...] = ("AIRFLOW",),
) -> dict[str, Any]:
    """Run the script `probe` (e.g. PROBES_DIR / "stream_dag.py") with AIRFLOW_HOME=home."""
    assert probe.is_file(), f"no probe script at {probe}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(drop_prefixes)},
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        **(extra_env or {}),
    }
    result = subprocess.run(
        [sys.executable, str(probe), str(REPO_ROOT)],
        env=env, capture_output=True, text=True, timeout=300, cwd=home,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("PROBE"))
    return dict(json.loads(line[len("PROBE") :]))
