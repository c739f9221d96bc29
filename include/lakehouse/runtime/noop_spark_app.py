"""An empty Spark application: submitting it makes spark-submit fill the --packages cache."""
