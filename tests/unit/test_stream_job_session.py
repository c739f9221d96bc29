"""The stream job builds its driver's session with the settings of a long-running driver."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from lakehouse.config import REPO_ROOT
from lakehouse.spark.session import LONG_RUNNING_DRIVER_CONF


class SessionBuilt(Exception):
    """Stops the job once its session would have been built."""


def test_the_stream_job_builds_its_session_with_the_long_running_driver_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    spec = importlib.util.spec_from_file_location(
        "stream_job_under_test", REPO_ROOT / "jobs" / "lakehouse_stream.py"
    )
    assert spec is not None and spec.loader is not None
    job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job)
    built: dict[str, Any] = {}

    def build(_app_name: str, **kwargs: Any) -> None:
        built.update(kwargs)
        raise SessionBuilt

    monkeypatch.setattr(job, "build_spark_session", build)
    monkeypatch.setattr(job, "driver_scratch", lambda: tmp_path)

    with pytest.raises(SessionBuilt):
        job.main(["--lake-uri", str(tmp_path / "lake")])

    conf = built["extra_conf"]
    assert {key: conf.get(key) for key in LONG_RUNNING_DRIVER_CONF} == LONG_RUNNING_DRIVER_CONF
    assert conf["spark.local.dir"] == str(tmp_path)
