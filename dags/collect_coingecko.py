"""
### collect_coingecko

Every minute, for the data interval [T, T+1m), land CoinGecko responses untouched in the raw zone
(`s3://lake/raw/coingecko/<endpoint>/...`), one envelope object per response:

- **prices**: live, `/simple/price` for the chosen coins and currencies (market cap, 24h volume,
  24h change, last update); history, `/coins/{id}/market_chart/range` per coin and currency for
  exactly the interval.
- **markets**: live, `/coins/markets` for the first currency, the top N coins by market cap, one
  object per page; skipped in history runs (the API keeps no history of it).

Live runs collect prices every `prices_every_minutes` and markets every `markets_every_minutes`
(Params; defaults 1 from `COINGECKO_PRICES_EVERY_MINUTES`, `COINGECKO_MARKETS_EVERY_MINUTES`): a
run off that grid skips the part, to fit the plan's monthly credits (README, "Call budget").

A run is *history* when its interval ended more than 10 minutes ago: a backfill, e.g.
`airflow backfill create --dag-id collect_coingecko --from-date 2026-11-25T10:00:00+00:00
--to-date 2026-11-25T10:59:00+00:00` (both ends inclusive: 60 runs), or in the UI the Dag's
*Trigger* button, then *Backfill*, a date range and *Run Backfill*. Live and backfill calls
share one limiter within the API's rate limit (connection extra `rate_limit_per_minute`), and live
runs weigh more than backfill runs for the `coingecko_api` pool (README, "Call budget").

A failed request lands nothing, logs one line (endpoint, status) and fails the task, which Airflow
retries. Coins, currencies and N can be changed per run in the trigger form; ids are lower case
without spaces (the API silently drops an item after ", ").

Connections: `coingecko_api` (base URL, key, plan), `lake_s3` (the lake). Variable:
`lakehouse_bucket`. Pool: `coingecko_api`.
"""

from __future__ import annotations

from lakehouse_airflow.collect_dag import collect_dag

collect_coingecko = collect_dag("coingecko", doc_md=__doc__)
collect_coingecko()
