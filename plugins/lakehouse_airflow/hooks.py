"""Hooks: each turns an Airflow Connection into one of the lakehouse's clients, nothing more."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from lakehouse.config import COINGECKO_DEMO_URL, COINGECKO_PRO_URL
from lakehouse.raw_zone import RawZoneWriter
from lakehouse.sources.coingecko import CoinGeckoHttpClient


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

    def get_conn(self) -> CoinGeckoHttpClient:
        conn = self.get_connection(self.coingecko_conn_id)
        plan = conn.extra_dejson.get("plan", "demo")
        base_url = conn.host or (COINGECKO_PRO_URL if plan == "pro" else COINGECKO_DEMO_URL)
        return CoinGeckoHttpClient(base_url=base_url, api_key=conn.password or "", plan=plan)


def raw_zone_writer(bucket: str, aws_conn_id: str = "lake_s3") -> RawZoneWriter:
    """The raw-zone writer over the lake S3 connection (type aws; extra endpoint_url for MinIO)."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return RawZoneWriter(S3Hook(aws_conn_id=aws_conn_id).get_conn(), bucket)
