"""Settings come from the environment over the generated credentials file, validated once."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.config import Settings
from lakehouse.sources.coingecko.settings import PRO_URL, CoinGeckoSettings


def test_defaults_point_at_the_local_stack(tmp_path: Path) -> None:
    settings = Settings.from_env({"LAKEHOUSE_HOME": str(tmp_path)})
    assert settings.home == tmp_path.resolve()
    assert settings.lake.endpoint_url == "http://127.0.0.1:9000"
    assert settings.lake.uri("silver/coin_prices", scheme="s3a") == "s3a://lake/silver/coin_prices"
    coingecko = settings.sources["coingecko"]
    assert isinstance(coingecko, CoinGeckoSettings)
    assert coingecko.base_url == "https://api.coingecko.com/api/v3"
    assert settings.pool_slots == {"coingecko_api": 2, "smartcitizen_api": 4}


def test_environment_wins_over_the_credentials_file(tmp_path: Path) -> None:
    (tmp_path / "credentials.env").write_text(
        "# generated\nMINIO_ROOT_USER=from-file\nMINIO_ROOT_PASSWORD=file-secret\n"
    )
    settings = Settings.from_env(
        {
            "LAKEHOUSE_HOME": str(tmp_path),
            "MINIO_ROOT_USER": "from-env",
            "LAKEHOUSE_MINIO_PORT": "19000",
        }
    )
    assert settings.lake.access_key == "from-env"
    assert settings.lake.secret_key == "file-secret"
    assert settings.lake.endpoint_url == "http://127.0.0.1:19000"
    assert "file-secret" not in repr(settings)


def test_pro_plan_defaults_to_the_pro_url(tmp_path: Path) -> None:
    settings = Settings.from_env({"LAKEHOUSE_HOME": str(tmp_path), "COINGECKO_API_PLAN": "pro"})
    assert settings.sources["coingecko"].connection().host == PRO_URL


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LAKEHOUSE_AIRFLOW_PORT", "80a", "LAKEHOUSE_AIRFLOW_PORT must be a whole number"),
        ("COINGECKO_API_PLAN", "free", "COINGECKO_API_PLAN must be 'demo' or 'pro'"),
        ("LAKEHOUSE_COINGECKO_POOL_SLOTS", "two", "LAKEHOUSE_COINGECKO_POOL_SLOTS must be"),
    ],
)
def test_bad_values_are_refused_by_name(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_env({"LAKEHOUSE_HOME": str(tmp_path), name: value})
