"""The Delta log store's wiring: every session names it, its jar follows its source, and the
installer says what is missing when it cannot compile it."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.runtime import install
from lakehouse.spark import packages
from lakehouse.spark.session import lake_conf


@pytest.mark.parametrize("endpoint", [None, "http://127.0.0.1:9000"])
def test_every_session_commits_to_s3a_through_the_log_store(endpoint: str | None) -> None:
    conf = lake_conf(endpoint)
    assert conf["spark.delta.logStore.s3a.impl"] == packages.LOGSTORE_CLASS
    assert conf["spark.hadoop.fs.s3a.create.conditional.enabled"] == "true"


def test_the_source_names_the_class_the_sessions_name() -> None:
    source = packages.LOGSTORE_SOURCE.read_text()
    package, name = packages.LOGSTORE_CLASS.rsplit(".", 1)
    assert f"package {package};" in source
    assert f"public class {name} " in source


def test_a_changed_source_gets_a_new_jar(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    current = install.logstore_jar(tmp_path)
    changed = tmp_path / "ConditionalPutLogStore.java"
    changed.write_text(packages.LOGSTORE_SOURCE.read_text() + "// changed\n")
    monkeypatch.setattr(packages, "LOGSTORE_SOURCE", changed)
    assert install.logstore_jar(tmp_path) != current
    assert install.logstore_jar(tmp_path).parent == tmp_path / "jars"


def test_without_javac_the_installer_names_the_jdk_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(install.shutil, "which", lambda _: None)
    with pytest.raises(install.InstallError, match="openjdk-17-jdk-headless"):
        install.ensure_logstore_jar(tmp_path)
    assert not install.logstore_jar(tmp_path).exists()
