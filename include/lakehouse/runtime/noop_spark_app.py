"""An empty Spark application: submitting it makes spark-submit resolve --packages into the cache."""
