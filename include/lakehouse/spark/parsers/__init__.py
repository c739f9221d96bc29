"""Silver parsers, one module per source, and their registry by (source, endpoint).

Each source module declares `PARSERS`: for each of its endpoints, the silver tables (specs in
`lakehouse.tables`) it feeds and the parser that makes their rows. `REGISTRY` is their union;
`lakehouse.spark.silver` runs it over a bronze batch, and an envelope whose (source, endpoint) is
not in it lands in quarantine as `unknown_endpoint`.
"""

from __future__ import annotations

from lakehouse.spark.parsers import coingecko, smartcitizen
from lakehouse.spark.parsers.common import Feeds

REGISTRY: dict[tuple[str, str], Feeds] = {**coingecko.PARSERS, **smartcitizen.PARSERS}
