"""Hooks: each turns an Airflow Connection into one of the lakehouse's clients, nothing more.

Connections, read at task run time:

- one per source (type http), named by the source (`coingecko_api`, `smartcitizen_api`, ...):
  host = base URL (default: the API's public URL), password = API key if the API takes one, extra
  `{"rate_limit_per_minute": N, ...}` (CoinGecko also reads `plan`: `demo` or `pro`);
- `lake_s3` (type aws; extra `endpoint_url` for MinIO): the lake.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from lakehouse.config import LakeSettings
from lakehouse.landed_log import LandedLog
from lakehouse.raw_zone import RawZoneWriter
from lakehouse.sources.base import Connection, Source
from lakehouse.sources.limiter import CallLimiter, Unlimited
from lakehouse.spark.control import S3Store
from lakehouse.spool import Spool


class SourceHook(BaseHook):
    """A source's Connection as the neutral `Connection` its client factory reads."""

    conn_type = "http"
    hook_name = "Lakehouse source API"

    def __init__(self, source: Source[Any, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source
        self._conn: Connection | None = None

    def connection(self) -> Connection:
        if self._conn is None:
            conn = self.get_connection(self.source.conn_id)
            self._conn = Connection(
                host=conn.host or "", password=conn.password or "", extra=conn.extra_dejson
            )
        return self._conn

    @property
    def rate_limit_per_minute(self) -> int:
        return self.source.rate_limit_per_minute(self.connection())

    def get_conn(self, limiter: CallLimiter | None = None) -> Any:
        """A client of the source; `limiter` (default: none) is shared by the source's tasks."""
        return self.source.client(self.connection(), limiter or Unlimited())


def lake_s3_client(aws_conn_id: str = "lake_s3") -> Any:
    """A boto3 S3 client from the lake's connection (type aws; extra endpoint_url for MinIO)."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id=aws_conn_id).get_conn()


def lake_settings(bucket: str, aws_conn_id: str = "lake_s3") -> LakeSettings:
    """The lake's place and key from its connection, for readers other than boto3 (delta-rs)."""
    conn = BaseHook.get_connection(aws_conn_id)
    extra = conn.extra_dejson
    return LakeSettings(
        bucket=bucket,
        endpoint_url=str(extra.get("endpoint_url", "")),
        access_key=conn.login or "",
        secret_key=conn.password or "",
        region=str(extra.get("region_name", "us-east-1")),
    )


def raw_zone_writer(bucket: str, spool: Spool, aws_conn_id: str = "lake_s3") -> RawZoneWriter:
    """The raw-zone writer over the lake S3 connection, keeping in `spool` what it cannot land
    and logging what it lands in the bucket's landed log."""
    s3 = lake_s3_client(aws_conn_id)
    return RawZoneWriter(s3, bucket, spool, LandedLog(s3, bucket))


def lake_control_store(bucket: str, aws_conn_id: str = "lake_s3") -> S3Store:
    """The stream job's control objects (lease, stop request) over the lake S3 connection."""
    return S3Store(lake_s3_client(aws_conn_id), bucket)
