"""MinIO, the local S3 that holds the lake: its S3 API and its console, both on 127.0.0.1.

Two keys: the root key stays with the runtime, which starts MinIO, creates the bucket and, through
MinIO's admin API, the pipeline user. Every other part of the stack (the collect tasks, the Spark
job, the query CLI) reaches the lake with the pipeline user's key, whose policy covers the lake's
bucket and nothing else: no other bucket, no bucket creation or deletion, no administration.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

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


def lake_policy(bucket: str) -> dict[str, object]:
    """Read, write and list inside `bucket`; every other action and bucket stays denied.

    The actions are those of MinIO's built-in `readwrite` policy that s3a, delta-rs and boto3 use
    (listing, conditional and multipart PUTs, deletes), scoped to one bucket as in MinIO's policy
    reference (https://min.io/docs/minio/linux/administration/identity-access-management/policy-based-access-control.html).
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "s3:GetBucketLocation",
                    "s3:ListBucket",
                    "s3:ListBucketMultipartUploads",
                ],
                "Resource": [f"arn:aws:s3:::{bucket}"],
            },
            {
                "Effect": "Allow",
                "Action": [
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:DeleteObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                "Resource": [f"arn:aws:s3:::{bucket}/*"],
            },
        ],
    }


def ensure_pipeline_user(lake: LakeSettings, creds: Mapping[str, str]) -> None:
    """Create (or update) the pipeline user and attach its one-bucket policy, as root.

    Idempotent: a later `lakehouse up` resets the user's secret to the generated one and finds the
    policy already attached.
    """
    from minio.credentials import StaticProvider
    from minio.error import MinioAdminException
    from minio.minioadmin import MinioAdmin

    endpoint = urlsplit(lake.endpoint_url)
    admin = MinioAdmin(
        endpoint=endpoint.netloc,
        credentials=StaticProvider(creds["MINIO_ROOT_USER"], creds["MINIO_ROOT_PASSWORD"]),
        secure=endpoint.scheme == "https",
    )
    policy = f"lakehouse-{lake.bucket}-readwrite"
    admin.policy_add(policy, policy=lake_policy(lake.bucket))
    admin.user_add(creds["LAKEHOUSE_S3_ACCESS_KEY"], creds["LAKEHOUSE_S3_SECRET_KEY"])
    try:
        admin.attach_policy([policy], user=creds["LAKEHOUSE_S3_ACCESS_KEY"])
    except MinioAdminException as exc:
        if "XMinioAdminPolicyChangeAlreadyApplied" not in str(exc):
            raise


@contextmanager
def scratch_minio(home: Path, bucket: str = "lake") -> Iterator[LakeSettings]:
    """A MinIO of its own under `home`, started as the stack starts its own but on free ports,
    with one empty bucket and the root key; stopped on exit. For tests and benchmarks that must
    run on the real store without touching a running stack's lake."""
    from lakehouse.raw_zone import s3_client
    from lakehouse.runtime.processes import free_port
    from lakehouse.runtime.stack import LocalStack, ensure_credentials

    base = Settings.from_env({"LAKEHOUSE_HOME": str(home)})
    ports = replace(base.ports, minio=free_port(), minio_console=free_port())
    creds = ensure_credentials(home / "credentials.env")
    lake = LakeSettings(
        bucket=bucket,
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
        s3_client(lake).create_bucket(Bucket=bucket)
        yield lake
    finally:
        stack.processes.stop(spec.name)
