"""spark-submit entry point of the streaming medallion job: the lake's one writer.

    spark-submit --packages ... jobs/lakehouse_stream.py --lake-uri s3a://lake --s3-endpoint URL

Streams raw -> bronze -> silver (+ quarantine) -> gold (see lakehouse.spark.driver). Before its
first write it takes the lease `_leases/lakehouse_stream.json` in the lake; while another live
driver holds it, it refuses to start (exit 3). It stops gracefully, exit 0, when
`lakehouse stream stop` leaves a stop request in the lake, and does not start while one is there
(`lakehouse stream start` removes it). `--once` processes what is available and exits. Every flag
comes from `lakehouse.spark.options.StreamOptions` (`--help` lists them).

S3 credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the driver's environment;
with LAKEHOUSE_METASTORE_URL / _USER / _PASSWORD there too, the tables are registered by name in
that Hive metastore (`lakehouse.spark.metastore`; the JDBC driver on --driver-class-path).
Exit codes: 0 done or stopped, 1 failed, 3 lease held by another driver, 4 lease lost (also when
a commit was refused because the lease may have passed to another driver: see
`lakehouse.spark.lease`), 86 a test's fault point (`lakehouse.spark.faults`).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Sequence

from lakehouse.spark.control import JOB_NAME, ExitCode, exit_at_once, stop_key
from lakehouse.spark.driver import Driver, LeaseLostError
from lakehouse.spark.lease import (
    HadoopStore,
    LeaseHeld,
    StreamLease,
    hold_log_store_commits,
    stop_marker_present,
)
from lakehouse.spark.metastore import session_conf
from lakehouse.spark.options import parse_options
from lakehouse.spark.scratch import driver_scratch
from lakehouse.spark.session import LONG_RUNNING_DRIVER_CONF, build_spark_session

APP_NAME = JOB_NAME

log = logging.getLogger(APP_NAME)


LOST_EXIT_GRACE_SECONDS = 15.0
"""How long a driver that lost its lease may take to stop its queries before it exits anyway."""


def stop_or_exit(driver: Driver, grace: float) -> None:
    """On a lost lease: stop the queries, and exit LEASE_LOST after `grace` seconds if a query is
    still stuck (an s3a call retrying through an outage holds its thread for minutes). Exiting
    there is as safe as a kill: the fence refuses this driver's commits already."""
    driver.runtime.gate.stopping.set()

    def exit_now() -> None:
        log.error("the driver did not stop within %.0f s of losing its lease: exiting", grace)
        exit_at_once(ExitCode.LEASE_LOST)

    timer = threading.Timer(grace, exit_now)
    timer.daemon = True
    timer.start()


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    options = parse_options(sys.argv[1:] if argv is None else argv, APP_NAME, __doc__)
    spark = build_spark_session(
        APP_NAME,
        s3_endpoint=options.s3_endpoint,
        s3_region=options.s3_region,
        extra_conf={
            **LONG_RUNNING_DRIVER_CONF,
            "spark.local.dir": str(driver_scratch()),
            **session_conf(os.environ, options.lake_uri),
        },
    )
    try:
        spark.sparkContext.setLogLevel(options.spark_log_level)
        store = HadoopStore(spark, options.lake_uri)
        if not options.once and stop_marker_present(store, wait_seconds=options.lease_wait_seconds):
            log.info(
                "a stop request is present at %s/%s: not starting "
                "(`lakehouse stream start` removes it)",
                options.lake_uri,
                stop_key(),
            )
            return ExitCode.OK
        lease = StreamLease(
            store,
            ttl_seconds=options.lease_ttl_seconds,
            on_hold=hold_log_store_commits(spark) if store.conditional else None,
        )
        try:
            lease.acquire(wait_seconds=options.lease_wait_seconds)
        except LeaseHeld as exc:
            log.error("%s", exc)
            return ExitCode.LEASE_HELD
        driver = Driver(
            spark,
            options,
            stop_requested=lambda: stop_marker_present(store),
            lease_lost=lambda: lease.lost_reason,
            fence=lease.check_fence,
            writer=lease.owner,
        )
        lease.set_on_lost(lambda _reason: stop_or_exit(driver, LOST_EXIT_GRACE_SECONDS))
        lease.start_renewing()
        try:
            outcome = driver.run()
            log.info("%s: %s", APP_NAME, outcome)
            return ExitCode.OK
        except LeaseLostError as exc:
            log.error("lease lost, stopped writing: %s", exc)
            return ExitCode.LEASE_LOST
        finally:
            if lease.lost_reason is None:
                lease.release()
    finally:
        spark.stop()


if __name__ == "__main__":
    sys.exit(main())
