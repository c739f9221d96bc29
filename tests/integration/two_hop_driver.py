"""spark-submit app: what the two-query versions of the stream job leave in a lake.

    two_hop_driver.py --lake-uri URI --s3-endpoint URL [--bronze-only] [job options]

Runs their `raw_to_bronze` query over the available raw objects and, unless `--bronze-only`,
their `bronze_to_silver` query after it, each on its own checkpoint, as those versions did with
`--once`. `--bronze-only` leaves bronze ahead of silver, as a driver stopped between the two does.
"""

from __future__ import annotations

import sys

from lakehouse.spark.options import parse_options
from lakehouse.spark.queries import (
    WRITES_AT_ONCE,
    Runtime,
    drain_bronze_to_silver,
    drain_raw_to_bronze,
)
from lakehouse.spark.session import build_spark_session, configure_session, writer_sessions
from lakehouse.spark.table_setup import ensure_tables


def main(argv: list[str]) -> int:
    bronze_only = "--bronze-only" in argv
    options = parse_options([a for a in argv if a != "--bronze-only"], "two_hop", __doc__)
    spark = build_spark_session(
        "two_hop", s3_endpoint=options.s3_endpoint, s3_region=options.s3_region
    )
    try:
        configure_session(spark, options)
        runtime = Runtime(options, writer_sessions=writer_sessions(spark, options, WRITES_AT_ONCE))
        ensure_tables(spark, options)
        queries = (
            (drain_raw_to_bronze,) if bronze_only else (drain_raw_to_bronze, drain_bronze_to_silver)
        )
        for start in queries:
            start(spark, runtime).awaitTermination()
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
