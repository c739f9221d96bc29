#!/bin/sh
# Run once by the postgres image's entrypoint on a new cluster (/docker-entrypoint-initdb.d):
# Airflow's role owns its database and is no superuser, as in the local stack (runtime.postgres).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -v pw="$AIRFLOW_DB_PASSWORD" <<'SQL'
CREATE ROLE airflow LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'pw';
CREATE DATABASE airflow OWNER airflow;
SQL
