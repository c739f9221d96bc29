"""One collection run: fetch from a source API and land each response in the raw zone.

The same functions run inside the Airflow tasks and behind `lakehouse collect`; the callers decide
where the client and the writer come from (an Airflow Connection, the environment, a test).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from lakehouse.raw_zone import DataInterval, Envelope, Mode, PutResult, RawZoneWriter
from lakehouse.sources.coingecko import CoinGeckoApi

log = logging.getLogger(__name__)


def collect_coingecko_prices(
    api: CoinGeckoApi,
    writer: RawZoneWriter,
    *,
    coins: Sequence[str],
    currencies: Sequence[str],
    interval: DataInterval,
    run_id: str,
    mode: Mode = "live",
) -> list[PutResult]:
    """Land `/simple/price` for the coins and currencies; a failed fetch raises, lands nothing."""
    response = api.simple_price(coins, currencies)
    result = writer.write(Envelope(response=response, interval=interval, mode=mode, run_id=run_id))
    log.info(
        "coingecko simple_price: %s s3 key %s (%d bytes)",
        "wrote" if result.created else "already had",
        result.key,
        len(response.body),
    )
    return [result]
