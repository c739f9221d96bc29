"""Real services for integration tests: a MinIO started the way the stack starts it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from lakehouse.config import LakeSettings
from lakehouse.raw_zone import s3_client
from lakehouse.runtime.minio import scratch_minio


@dataclass(frozen=True)
class Minio:
    lake: LakeSettings

    def client(self) -> Any:
        return s3_client(self.lake)


@pytest.fixture(scope="session")
def minio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Minio]:
    with scratch_minio(tmp_path_factory.mktemp("minio-home")) as lake:
        yield Minio(lake)
