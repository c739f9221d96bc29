"""MinIO, the local S3 that holds the lake: its S3 API and its console, both on 127.0.0.1.

The root user of the generated credentials is the lake's only user: every part of the stack (the
collect tasks, the Spark job, the query CLI) reaches the lake with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from lakehouse.config import LakeSettings, Settings
from lakehouse.runtime import install
from lakehouse.runtime.processes import ProcessSpec, http_ok


def minio_spec(
    settings: Settings, data_dir: Path, creds: Mapping[str, str], env: Mapping[str, str]
) -> ProcessSpec:
    ports = settings.ports
    return ProcessSpec(
        name="minio",
        argv=[
            str(install.minio_binary(settings.tools_dir)),
            "server",
            str(data_dir),
            "--quiet",
            "--address",
            f"127.0.0.1:{ports.minio}",
            "--console-address",
            f"127.0.0.1:{ports.minio_console}",
        ],
        env={
            **env,
            "MINIO_ROOT_USER": creds["MINIO_ROOT_USER"],
            "MINIO_ROOT_PASSWORD": creds["MINIO_ROOT_PASSWORD"],
        },
        health=lambda: http_ok(f"http://127.0.0.1:{ports.minio}/minio/health/live"),
        url=f"http://127.0.0.1:{ports.minio_console} (S3 API :{ports.minio})",
        ports=(ports.minio, ports.minio_console),
    )


def create_bucket(lake: LakeSettings, creds: Mapping[str, str]) -> None:
    """Create the lake's bucket unless it exists, as root: the settings may carry no key yet."""
    from lakehouse.raw_zone import s3_client

    root = replace(
        lake, access_key=creds["MINIO_ROOT_USER"], secret_key=creds["MINIO_ROOT_PASSWORD"]
    )
    s3 = s3_client(root)
    existing = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
    if lake.bucket not in existing:
        s3.create_bucket(Bucket=lake.bucket)
