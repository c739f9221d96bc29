"""Spark side of the lakehouse: session, schemas, pure transforms, idempotent sinks."""
