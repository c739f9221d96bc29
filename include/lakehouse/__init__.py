"""The lakehouse: collectors, raw zone, Spark medallion job, query and local runtime."""
