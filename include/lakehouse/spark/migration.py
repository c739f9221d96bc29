"""The one-time move of a lake written by the two-query versions onto the `medallion` query.

Earlier versions streamed raw -> bronze (`raw_to_bronze`) and bronze -> silver and gold
(`bronze_to_silver`), each query on its own checkpoint. `medallion` does both in one micro-batch.
The first driver that starts over such a lake:

1. runs the two old queries once more, to the end of what is available (`availableNow`): a batch
   the old driver planned but did not commit is finished by the code that planned it, under the
   same Delta transaction ids, and every bronze row reaches silver and gold;
2. copies `raw_to_bronze`'s checkpoint to `medallion`'s, so that the new query goes on after the
   last raw object the old one read instead of reading the whole raw zone again (its batch ids go
   on too, under new transaction ids: nothing is skipped, nothing written twice);
3. leaves `MIGRATED` in the old checkpoint: later starts skip all of this.

A driver killed before step 3 repeats the migration at its next start, and every step may be
repeated: the old queries find nothing new, and the copy replaces a partial one.
"""

from __future__ import annotations

import logging

from pyspark.sql import SparkSession

from lakehouse.spark.lease import HadoopStore
from lakehouse.spark.queries import Runtime, drain_bronze_to_silver, drain_raw_to_bronze
from lakehouse.tables import MEDALLION, RAW_TO_BRONZE

log = logging.getLogger(__name__)

MIGRATED = f"{RAW_TO_BRONZE}/MIGRATED"
"""Left in the old checkpoint's folder once the migration is complete."""


def two_hop_checkpoint_pending(store: HadoopStore) -> bool:
    """True when the checkpoints hold an old `raw_to_bronze` checkpoint not yet migrated."""
    return bool(store.file_names(f"{RAW_TO_BRONZE}/offsets")) and not store.exists(MIGRATED)


def migrate_two_hop_checkpoints(spark: SparkSession, runtime: Runtime) -> bool:
    """Drain the old queries and move their raw-zone position to `MEDALLION`; True if it did."""
    store = HadoopStore(spark, runtime.options.checkpoint_root)
    if not two_hop_checkpoint_pending(store):
        return False
    log.warning(
        "the checkpoints at %s were written by the two-query versions: draining them once, then "
        "%s goes on from %s's position",
        runtime.options.checkpoint_root,
        MEDALLION,
        RAW_TO_BRONZE,
    )
    for drain in (drain_raw_to_bronze, drain_bronze_to_silver):
        query = drain(spark, runtime)
        query.awaitTermination()
    runtime.fence()
    store.copy_folder(RAW_TO_BRONZE, MEDALLION)
    store.write(MIGRATED, f"copied to {MEDALLION}\n".encode(), if_absent=False, if_etag=None)
    log.warning("migrated: %s now continues from the raw zone's position", MEDALLION)
    return True
