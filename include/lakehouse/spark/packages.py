"""Maven coordinates and the log store jar the Spark driver needs; importable without pyspark (the
DAG uses them).

delta-spark's jar must match the pip package and pyspark's Spark minor version (`_4.2`);
hadoop-aws must match the Hadoop client bundled with pyspark (3.5.0 for pyspark 4.2.0).

The lake's Delta log store (ConditionalPutLogStore.java beside this module; its comment says why)
is compiled by `lakehouse install` into `<tools>/jars/<logstore_jar_name()>`. The jar is named by
its source's hash, so a changed source gets a new jar and every launcher (session, DAG, tests)
names the jar that matches the source it sees.
"""

from hashlib import sha256
from pathlib import Path

DELTA_SPARK = "io.delta:delta-spark_4.2_2.13:4.4.0"
# Resolved with delta-spark, at its version; the log store is compiled against it.
DELTA_STORAGE = f"io.delta:delta-storage:{DELTA_SPARK.rsplit(':', 1)[1]}"
HADOOP_AWS = "org.apache.hadoop:hadoop-aws:3.5.0"
SPARK_PACKAGES = (DELTA_SPARK, HADOOP_AWS)
# Spark already ships these Hadoop client jars; Delta's Unity Catalog client pulls older ones.
SPARK_EXCLUDED_PACKAGES = (
    "org.apache.hadoop:hadoop-client-api",
    "org.apache.hadoop:hadoop-client-runtime",
)

LOGSTORE_CLASS = "io.lakehouse.delta.ConditionalPutLogStore"
LOGSTORE_SOURCE = Path(__file__).with_name("ConditionalPutLogStore.java")


def logstore_jar_name() -> str:
    digest = sha256(LOGSTORE_SOURCE.read_bytes()).hexdigest()[:16]
    return f"lakehouse-logstore-{digest}.jar"


def logstore_conf() -> dict[str, str]:
    """Delta commits to s3a paths through the log store (its jar must be on the driver's path)."""
    return {"spark.delta.logStore.s3a.impl": LOGSTORE_CLASS}
