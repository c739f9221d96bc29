"""spark-submit entry point of the streaming medallion job: the lake's one writer.

    spark-submit --packages ... jobs/lakehouse_stream.py --lake-uri s3a://lake --s3-endpoint URL

Streams raw -> bronze -> silver (+ quarantine) -> gold (see lakehouse.spark.pipeline). Before its
first write it takes the lease `_leases/lakehouse_stream.json` in the lake; while another live
driver holds it, it refuses to start (exit 3). It stops gracefully, exit 0, when
`lakehouse stream stop` leaves a stop request in the lake, and does not start while one is there
(`lakehouse stream start` removes it). `--once` processes what is available and exits.

S3 credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the driver's environment.
Exit codes: 0 done or stopped, 1 failed, 3 lease held by another driver, 4 lease lost.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from lakehouse.spark.control import JOB_NAME, stop_key
from lakehouse.spark.lease import HadoopStore, LeaseHeld, StreamLease, stop_marker_present
from lakehouse.spark.pipeline import Driver, LeaseLostError, StreamOptions
from lakehouse.spark.session import build_spark_session

APP_NAME = JOB_NAME
EXIT_OK, EXIT_FAILED, EXIT_LEASE_HELD, EXIT_LEASE_LOST = 0, 1, 3, 4

log = logging.getLogger(APP_NAME)


def _positive(kind: type) -> object:
    def parse(text: str) -> object:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    return parse


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=APP_NAME, description=__doc__)
    parser.add_argument("--lake-uri", required=True, help="lake root, e.g. s3a://lake")
    parser.add_argument("--checkpoint-uri", help="default: <lake-uri>/_checkpoints")
    parser.add_argument("--s3-endpoint", help="S3 API URL for a non-AWS store such as MinIO")
    parser.add_argument("--s3-region", default="us-east-1")
    parser.add_argument("--trigger-seconds", type=_positive(float), default=5.0)
    parser.add_argument("--max-files-per-trigger", type=_positive(int), default=1000)
    parser.add_argument(
        "--once", action="store_true", help="process everything available, then exit"
    )
    maintenance = parser.add_argument_group("maintenance (0 disables a schedule)")
    maintenance.add_argument("--optimize-minutes", type=_non_negative, default=60.0)
    maintenance.add_argument("--vacuum-minutes", type=_non_negative, default=360.0)
    maintenance.add_argument("--vacuum-retain-hours", type=_non_negative, default=48.0)
    maintenance.add_argument(
        "--compact-min-files",
        type=_positive(int),
        default=50,
        help="auto-compaction: small files in a partition before a commit compacts them",
    )
    maintenance.add_argument(
        "--log-retention-hours",
        type=_positive(float),
        default=48.0,
        help="delta.logRetentionDuration of every table (bounds _delta_log and time travel)",
    )
    lease = parser.add_argument_group("lease")
    lease.add_argument("--lease-ttl-seconds", type=_positive(float), default=60.0)
    lease.add_argument(
        "--lease-wait-seconds",
        type=_non_negative,
        default=0.0,
        help="wait this long for another driver's lease to expire before refusing",
    )
    parser.add_argument("--poll-seconds", type=_positive(float), default=2.0)
    parser.add_argument(
        "--txn-suffix", default="", help="appended to Delta txnAppIds (after a checkpoint reset)"
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="do not write ops.stream_progress"
    )
    return parser.parse_args(argv)


def options_from(args: argparse.Namespace) -> StreamOptions:
    return StreamOptions(
        lake_uri=args.lake_uri,
        checkpoint_uri=args.checkpoint_uri or f"{args.lake_uri.rstrip('/')}/_checkpoints",
        trigger_seconds=args.trigger_seconds,
        max_files_per_trigger=args.max_files_per_trigger,
        once=args.once,
        optimize_minutes=args.optimize_minutes,
        vacuum_minutes=args.vacuum_minutes,
        vacuum_retain_hours=args.vacuum_retain_hours,
        compact_min_files=args.compact_min_files,
        log_retention_hours=args.log_retention_hours,
        poll_seconds=args.poll_seconds,
        progress=not args.no_progress,
        txn_suffix=args.txn_suffix,
    )


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = parse_args(sys.argv[1:] if argv is None else argv)
    options = options_from(args)
    spark = build_spark_session(APP_NAME, s3_endpoint=args.s3_endpoint, s3_region=args.s3_region)
    try:
        store = HadoopStore(spark, options.lake_uri)
        if not options.once and stop_marker_present(store):
            log.info(
                "a stop request is present at %s/%s: not starting "
                "(`lakehouse stream start` removes it)",
                options.lake_uri,
                stop_key(),
            )
            return EXIT_OK
        lease = StreamLease(store, ttl_seconds=args.lease_ttl_seconds)
        try:
            lease.acquire(wait_seconds=args.lease_wait_seconds)
        except LeaseHeld as exc:
            log.error("%s", exc)
            return EXIT_LEASE_HELD
        driver = Driver(
            spark,
            options,
            stop_requested=lambda: stop_marker_present(store),
            lease_lost=lambda: lease.lost_reason,
        )
        lease.set_on_lost(lambda _reason: driver.runtime.gate.stopping.set())
        lease.start_renewing()
        try:
            outcome = driver.run()
            log.info("%s: %s", APP_NAME, outcome)
            return EXIT_OK
        except LeaseLostError as exc:
            log.error("lease lost, stopped writing: %s", exc)
            return EXIT_LEASE_LOST
        finally:
            if lease.lost_reason is None:
                lease.release()
    finally:
        spark.stop()


if __name__ == "__main__":
    sys.exit(main())
