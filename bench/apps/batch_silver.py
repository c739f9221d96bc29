"""The catch-up benchmark's baseline: one batch read of the raw zone into bronze and silver.

    spark-submit --packages ... bench/apps/batch_silver.py --lake-uri /tmp/lake

The same explicit envelope schema and the same pure transforms as the stream job
(`lakehouse.spark.queries`, `lakehouse.spark.silver`), without a stream: every raw object is
read once, and bronze, each silver table and the quarantine are written once into empty tables.
No gold, no progress table, no lease: the least work that turns the backlog into silver.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pyspark.sql import functions as F

from lakehouse import tables
from lakehouse.spark import silver, transforms
from lakehouse.spark.options import StreamOptions
from lakehouse.spark.queries import read_raw
from lakehouse.spark.session import build_spark_session, configure_session


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="batch_silver", description=__doc__)
    parser.add_argument("--lake-uri", required=True, help="a lake folder or s3a://<bucket>")
    parser.add_argument("--s3-endpoint", help="S3 API URL for a non-AWS store such as MinIO")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    options = StreamOptions(lake_uri=args.lake_uri, checkpoint_uri="", progress=False)
    spark = build_spark_session("batch_silver", s3_endpoint=args.s3_endpoint)
    try:
        configure_session(spark, options)
        raw = read_raw(spark, options, stream=False)
        bronze = transforms.to_bronze(
            raw, source_file=F.col("source_file"), ingested_at=F.current_timestamp()
        ).persist()
        (
            bronze.write.format("delta")
            .partitionBy(*tables.BRONZE_RAW_EVENTS.partitions)
            .save(options.table(tables.BRONZE_RAW_EVENTS))
        )
        parsed = silver.parse_bronze(bronze)
        for spec, rows in parsed.rows.items():
            rows.write.format("delta").save(options.table(spec))
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
