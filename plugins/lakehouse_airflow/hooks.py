"""Hooks: each turns an Airflow Connection into one of the lakehouse's clients, nothing more.

Connections (type http), read at task run time:

- `coingecko_api`: host = base URL (default: the plan's public URL), password = API key, extra
  `{"plan": "demo" | "pro", "rate_limit_per_minute": 30}` (the limit defaults by plan).
- `smartcitizen_api`: host = base URL (default https://api.smartcitizen.me/v0), extra
  `{"rate_limit_per_minute": 120}` (optional).
- `lake_s3` (type aws; extra `endpoint_url` for MinIO): the lake.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from lakehouse.config import (
    COINGECKO_DEMO_URL,
    COINGECKO_PRO_URL,
    COINGECKO_RATE_LIMITS,
    SMARTCITIZEN_RATE_LIMIT,
    SMARTCITIZEN_URL,
)
from lakehouse.raw_zone import RawZoneWriter
from lakehouse.sources.coingecko import CoinGeckoHttpClient
from lakehouse.sources.smartcitizen import SmartCitizenHttpClient
from lakehouse.spark.control import S3Store


def _rate_limit(extra: dict[str, Any], default: int, conn_id: str) -> int:
    value = extra.get("rate_limit_per_minute", default)
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise ValueError(f"connection {conn_id}: rate_limit_per_minute must be a whole number")
    if int(value) <= 0:
        raise ValueError(f"connection {conn_id}: rate_limit_per_minute must be positive")
    return int(value)


class CoinGeckoHook(BaseHook):
    """Connection `coingecko_api` (type http): host = base URL, password = API key,
    extra `{"plan": "demo" | "pro"}`. Without a host, the plan's public URL is used."""

    conn_name_attr = "coingecko_conn_id"
    default_conn_name = "coingecko_api"
    conn_type = "http"
    hook_name = "CoinGecko"

    def __init__(self, coingecko_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.coingecko_conn_id = coingecko_conn_id
        self._conn: Any = None

    def _connection(self) -> Any:
        if self._conn is None:
            self._conn = self.get_connection(self.coingecko_conn_id)
        return self._conn

    @property
    def plan(self) -> str:
        return str(self._connection().extra_dejson.get("plan", "demo"))

    @property
    def rate_limit_per_minute(self) -> int:
        default = COINGECKO_RATE_LIMITS.get(self.plan, COINGECKO_RATE_LIMITS["demo"])
        return _rate_limit(self._connection().extra_dejson, default, self.coingecko_conn_id)

    def get_conn(self, min_interval: float = 0.0) -> CoinGeckoHttpClient:
        conn = self._connection()
        plan = self.plan
        default = COINGECKO_PRO_URL if plan == "pro" else COINGECKO_DEMO_URL
        return CoinGeckoHttpClient(
            base_url=conn.host or default,
            api_key=conn.password or "",
            plan=plan,
            min_interval=min_interval,
        )


class SmartCitizenHook(BaseHook):
    """Connection `smartcitizen_api` (type http): host = base URL (public reads need no key)."""

    conn_name_attr = "smartcitizen_conn_id"
    default_conn_name = "smartcitizen_api"
    conn_type = "http"
    hook_name = "Smart Citizen"

    def __init__(self, smartcitizen_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.smartcitizen_conn_id = smartcitizen_conn_id
        self._conn: Any = None

    def _connection(self) -> Any:
        if self._conn is None:
            self._conn = self.get_connection(self.smartcitizen_conn_id)
        return self._conn

    @property
    def rate_limit_per_minute(self) -> int:
        extra = self._connection().extra_dejson
        return _rate_limit(extra, SMARTCITIZEN_RATE_LIMIT, self.smartcitizen_conn_id)

    def get_conn(self, min_interval: float = 0.0) -> SmartCitizenHttpClient:
        conn = self._connection()
        return SmartCitizenHttpClient(
            base_url=conn.host or SMARTCITIZEN_URL,
            min_interval=min_interval,
        )


def lake_s3_client(aws_conn_id: str = "lake_s3") -> Any:
    """A boto3 S3 client from the lake's connection (type aws; extra endpoint_url for MinIO)."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id=aws_conn_id).get_conn()


def raw_zone_writer(bucket: str, aws_conn_id: str = "lake_s3") -> RawZoneWriter:
    """The raw-zone writer over the lake S3 connection."""
    return RawZoneWriter(lake_s3_client(aws_conn_id), bucket)


def lake_control_store(bucket: str, aws_conn_id: str = "lake_s3") -> S3Store:
    """The stream job's control objects (lease, stop request) over the lake S3 connection."""
    return S3Store(lake_s3_client(aws_conn_id), bucket)
