"""Real services for integration tests: a MinIO started the way the stack starts it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from lakehouse.config import LakeSettings, Ports, Settings
from lakehouse.raw_zone import s3_client
from lakehouse.runtime import install
from lakehouse.runtime.stack import LocalStack, ensure_credentials


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Minio:
    lake: LakeSettings

    def client(self) -> Any:
        return s3_client(self.lake)


@pytest.fixture(scope="session")
def minio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Minio]:
    home: Path = tmp_path_factory.mktemp("minio-home")
    base = Settings.from_env({"LAKEHOUSE_HOME": str(home)})
    ports = replace(Ports(), minio=free_port(), minio_console=free_port())
    creds = ensure_credentials(home / "credentials.env")
    lake = LakeSettings(
        bucket="lake",
        endpoint_url=f"http://127.0.0.1:{ports.minio}",
        access_key=creds["MINIO_ROOT_USER"],
        secret_key=creds["MINIO_ROOT_PASSWORD"],
    )
    settings = replace(base, ports=ports, lake=lake)
    install.ensure_minio(settings.tools_dir)
    stack = LocalStack(settings)
    spec = stack.minio_spec(creds)
    stack.processes.start(spec)
    try:
        Minio(lake).client().create_bucket(Bucket=lake.bucket)
        yield Minio(lake)
    finally:
        stack.processes.stop(spec.name)
