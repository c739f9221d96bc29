"""spark-submit entry point of the streaming medallion job (bronze, silver): the lake's one writer.

    spark-submit --packages ... jobs/lakehouse_stream.py --lake-uri s3a://lake --s3-endpoint URL

S3 credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the driver's environment.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lakehouse.spark.pipeline import StreamOptions, run
from lakehouse.spark.session import build_spark_session

APP_NAME = "lakehouse_stream"


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=APP_NAME, description=__doc__)
    parser.add_argument("--lake-uri", required=True, help="lake root, e.g. s3a://lake")
    parser.add_argument("--checkpoint-uri", help="default: <lake-uri>/_checkpoints")
    parser.add_argument("--s3-endpoint", help="S3 API URL for a non-AWS store such as MinIO")
    parser.add_argument("--s3-region", default="us-east-1")
    parser.add_argument("--trigger-seconds", type=float, default=5.0)
    parser.add_argument("--max-files-per-trigger", type=int, default=1000)
    parser.add_argument(
        "--once", action="store_true", help="process everything available, then exit"
    )
    args = parser.parse_args(argv)
    if args.trigger_seconds <= 0 or args.max_files_per_trigger <= 0:
        parser.error("--trigger-seconds and --max-files-per-trigger must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    spark = build_spark_session(APP_NAME, s3_endpoint=args.s3_endpoint, s3_region=args.s3_region)
    options = StreamOptions(
        lake_uri=args.lake_uri,
        checkpoint_uri=args.checkpoint_uri or f"{args.lake_uri.rstrip('/')}/_checkpoints",
        trigger_seconds=args.trigger_seconds,
        max_files_per_trigger=args.max_files_per_trigger,
        once=args.once,
    )
    try:
        run(spark, options)
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
