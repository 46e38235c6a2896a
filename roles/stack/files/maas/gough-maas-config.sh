#!/usr/bin/env bash
# Configure the MAAS region for the stack's PostgreSQL (environment from Compose, passed to systemd as PID 1's
# environment), migrate the database and point the rack at the local region. Runs before regiond on every boot;
# each step is idempotent.
set -euo pipefail
env_of_init() { tr '\0' '\n' </proc/1/environ | sed -n "s/^$1=//p"; }
db_host="$(env_of_init MAAS_DB_HOST)"
db_name="$(env_of_init MAAS_DB_NAME)"
db_user="$(env_of_init MAAS_DB_USER)"
maas_url="$(env_of_init MAAS_URL)"
password_file="$(env_of_init MAAS_DB_PASSWORD_FILE)"
db_pass="$(cat "${password_file:-/run/secrets/postgres_password}")"
maas-region local_config_set --database-host "${db_host:-postgres}" --database-name "${db_name:-maas}" \
  --database-user "${db_user:-maas}" --database-pass "$db_pass" --maas-url "${maas_url:-http://localhost:5240/MAAS}"
maas-region dbupgrade
maas-rack config --region-url "http://localhost:5240/MAAS"
