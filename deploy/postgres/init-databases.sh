#!/bin/sh
# PostgreSQL init script for the compose `postgres` profile (mounted into /docker-entrypoint-initdb.d,
# so it runs once, on the first start of an empty `postgres-data` volume).
#
# Database per service: one database and one login role per subgraph. Each role owns only its own
# database, and CONNECT is revoked from PUBLIC, so a subgraph cannot even open another's database.
# Passwords come from the environment (<NAME>_DB_PASSWORD; compose passes dev defaults).
# SAWIT_DB_PREFIX (empty in compose) prefixes every database and role name; tests use it to run
# this very script against a shared server without touching anyone else's names.
set -e

sawit_create_subgraph_database() {
    sawit_name="${SAWIT_DB_PREFIX:-}$1"
    if [ -z "$2" ]; then
        echo "init-databases: no password for $1 (set $(echo "$1" | tr "[:lower:]" "[:upper:]")_DB_PASSWORD)" >&2
        exit 1
    fi
    psql -v ON_ERROR_STOP=1 --no-psqlrc \
        --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
        --set=name="$sawit_name" --set=password="$2" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name";
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
SQL
    echo "init-databases: database and role $sawit_name ready"
}

sawit_create_subgraph_database auth "${AUTH_DB_PASSWORD:-}"
sawit_create_subgraph_database wallet "${WALLET_DB_PASSWORD:-}"
sawit_create_subgraph_database transactions "${TRANSACTIONS_DB_PASSWORD:-}"
sawit_create_subgraph_database fraud "${FRAUD_DB_PASSWORD:-}"
sawit_create_subgraph_database history "${HISTORY_DB_PASSWORD:-}"
