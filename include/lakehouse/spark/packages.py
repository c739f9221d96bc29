"""Maven coordinates the Spark driver needs; importable without pyspark (the DAG uses them).

delta-spark's jar must match the pip package and pyspark's Spark minor version (`_4.2`);
hadoop-aws must match the Hadoop client bundled with pyspark (3.5.0 for pyspark 4.2.0).
"""

DELTA_SPARK = "io.delta:delta-spark_4.2_2.13:4.4.0"
HADOOP_AWS = "org.apache.hadoop:hadoop-aws:3.5.0"
SPARK_PACKAGES = (DELTA_SPARK, HADOOP_AWS)
# Spark already ships these Hadoop client jars; Delta's Unity Catalog client pulls older ones.
SPARK_EXCLUDED_PACKAGES = (
    "org.apache.hadoop:hadoop-client-api",
    "org.apache.hadoop:hadoop-client-runtime",
)
