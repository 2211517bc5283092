#!/bin/sh
# Creates Temporal's two PostgreSQL databases (the main store and visibility)
# and brings their schemas up to the version this temporal-sql-tool carries,
# from the schemas embedded in it. Each step is a no-op when already done, so
# the same script sets up a new database and upgrades an existing one after
# the server and tools move to a newer release.
#
# It runs in the temporalio/admin-tools image (docker-compose.yml) and on a
# developer's machine (scripts/test-cluster.sh), with temporal-sql-tool on
# PATH. temporal-sql-tool reads its connection from the environment:
#   SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD   where PostgreSQL is, and as whom
#   SQL_PLUGIN                                   postgres12 (the default here) or postgres12_pgx
# and this script reads:
#   TEMPORAL_DB             the main database's name (default temporal)
#   TEMPORAL_VISIBILITY_DB  the visibility database's name (default temporal_visibility)
set -eu

: "${SQL_PLUGIN:=postgres12}"
: "${SQL_HOST:?set SQL_HOST to the PostgreSQL host}"
: "${SQL_USER:?set SQL_USER to a PostgreSQL role that may create databases}"
export SQL_PLUGIN

for pair in "${TEMPORAL_DB:-temporal}=temporal" "${TEMPORAL_VISIBILITY_DB:-temporal_visibility}=visibility"; do
	db=${pair%%=*}
	schema=postgresql/v12/${pair#*=}
	echo "setup-schema: database $db, schema $schema"
	# PostgreSQL may not accept connections yet: give it about a minute.
	tries=1
	until temporal-sql-tool --db "$db" create-database; do
		if [ "$tries" -ge 30 ]; then
			echo "setup-schema: cannot create database $db on $SQL_HOST:${SQL_PORT:-5432}" >&2
			exit 1
		fi
		tries=$((tries + 1))
		sleep 2
	done
	temporal-sql-tool --db "$db" setup-schema -v 0.0
	temporal-sql-tool --db "$db" update-schema --schema-name "$schema"
done
echo "setup-schema: done"
