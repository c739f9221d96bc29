#!/bin/sh
# Run once by the postgres image's entrypoint on a new cluster (/docker-entrypoint-initdb.d):
# Airflow's role and Spark's metastore's each own their database and are no superuser, as in the
# local stack (runtime.postgres).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -v pw="$AIRFLOW_DB_PASSWORD" \
    -v metastore_pw="$METASTORE_DB_PASSWORD" <<'SQL'
CREATE ROLE airflow LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'pw';
CREATE DATABASE airflow OWNER airflow;
CREATE ROLE metastore LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'metastore_pw';
CREATE DATABASE metastore OWNER metastore;
SQL
