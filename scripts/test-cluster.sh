#!/usr/bin/env bash
# make test-cluster: the end-to-end tests that need a real Temporal cluster,
# run against one: the Temporal server on PostgreSQL, built and started here.
#
#   1. Builds temporal-server and temporal-sql-tool (TEMPORAL_SERVER_VERSION,
#      the release the dev server of bin/temporal embeds) from the Go module
#      proxy into bin/, once: later runs reuse them while their version matches.
#   2. Installs PostgreSQL from Debian's packages when it is missing (needs root).
#   3. Starts PostgreSQL on a free loopback port, in a temporary directory, as
#      the postgres user when run as root (PostgreSQL refuses to run as root).
#   4. Creates Temporal's databases and schemas (deploy/temporal/setup-schema.sh,
#      as docker-compose.yml's admin-tools job does).
#   5. Starts the server (scripts/cluster/temporal-server.yaml), registers the
#      namespace and cloudflow's search attributes (deploy/temporal/setup-namespace.sh).
#   6. Runs the e2e tests tagged `cluster` against it: two cloudflow worker
#      processes per test, the simulator standing in for the clouds.
#   7. Stops everything and removes the temporary directory, whatever happened
#      (CLUSTER_KEEP=1 keeps the directory, with the logs, for a look).
#
# It prints how long each step took. bin/temporal (the Temporal CLI) must exist:
# `make test-cluster` makes it first.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/bin
GO=${GO:-go}
TEMPORAL_SERVER_VERSION=${TEMPORAL_SERVER_VERSION:-v1.29.1}
NAMESPACE=default

start_time=$SECONDS
step_time=$SECONDS
timings=()
log() { printf '%s test-cluster: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
	log "FAILED: $*"
	exit 1
}
# done_step NAME records how long the step that ends here took.
done_step() {
	timings+=("$(printf '%-28s %4ds' "$1" $((SECONDS - step_time)))")
	step_time=$SECONDS
}

[ -x "$BIN/temporal" ] || die "$BIN/temporal is missing: run 'make test-cluster' (or 'make bin/temporal' first)"

# --- 1. The Temporal server and its SQL tool, from the module proxy ----------

# has_version BINARY prints nothing and succeeds when BINARY exists and is
# TEMPORAL_SERVER_VERSION (both tools print "NAME version X.Y.Z").
has_version() {
	[ -x "$1" ] && [ "$("$1" --version 2>/dev/null | awk '{print $NF}')" = "${TEMPORAL_SERVER_VERSION#v}" ]
}
if has_version "$BIN/temporal-server" && has_version "$BIN/temporal-sql-tool"; then
	log "temporal-server and temporal-sql-tool $TEMPORAL_SERVER_VERSION: reusing bin/"
else
	log "building temporal-server and temporal-sql-tool $TEMPORAL_SERVER_VERSION with go install (several minutes on a cold module cache)..."
	gobin=$(mktemp -d "$BIN/.temporal-server.XXXXXX")
	# GOTOOLCHAIN=local: fail here, saying so, rather than fetch another Go
	# if a release ever needs a newer one than this machine's.
	GOBIN=$gobin GOTOOLCHAIN=${GOTOOLCHAIN:-local} "$GO" install \
		"go.temporal.io/server/cmd/server@$TEMPORAL_SERVER_VERSION" \
		"go.temporal.io/server/cmd/tools/sql@$TEMPORAL_SERVER_VERSION" ||
		{ rm -rf "$gobin"; die "go install of the Temporal server $TEMPORAL_SERVER_VERSION"; }
	mv "$gobin/server" "$BIN/temporal-server"
	mv "$gobin/sql" "$BIN/temporal-sql-tool"
	rmdir "$gobin"
	has_version "$BIN/temporal-server" || die "bin/temporal-server is not $TEMPORAL_SERVER_VERSION"
fi
done_step "server tools"

# --- 2. PostgreSQL ------------------------------------------------------------

# pg_bindir prints the directory of the newest PostgreSQL server binaries.
pg_bindir() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	if [ -n "$d" ] && [ -x "$d/initdb" ]; then
		echo "$d"
	elif command -v initdb >/dev/null 2>&1; then
		dirname "$(command -v initdb)"
	fi
}
PGBIN=$(pg_bindir)
if [ -z "$PGBIN" ]; then
	[ "$(id -u)" = 0 ] || die "PostgreSQL is not installed and installing it needs root: apt-get install postgresql"
	log "installing PostgreSQL from Debian's packages..."
	# Keep the package from starting its own server (the system's cluster on
	# port 5432): this script starts the one it needs, and stops it after.
	policy=/usr/sbin/policy-rc.d
	own_policy=
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		own_policy=1
	fi
	apt_log=$(mktemp)
	apt_status=0
	{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql; } >"$apt_log" 2>&1 || apt_status=$?
	[ -z "$own_policy" ] || rm -f "$policy"
	if [ "$apt_status" != 0 ]; then
		tail -n 30 "$apt_log" >&2
		rm -f "$apt_log"
		die "apt-get install postgresql (exit $apt_status)"
	fi
	rm -f "$apt_log"
	PGBIN=$(pg_bindir)
	[ -n "$PGBIN" ] || die "PostgreSQL was installed, but no initdb was found"
fi
log "PostgreSQL: $("$PGBIN/postgres" --version)"
done_step "postgresql install"

# --- The temporary cluster, and its cleanup ------------------------------------

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cloudflow-cluster.XXXXXX")
chmod 755 "$WORK" # the postgres user reaches its directory through it
server_pid=
pg_started=

# as_postgres runs a command as the user PostgreSQL runs as: this one, or
# postgres when this is root.
as_postgres() {
	if [ "$(id -u)" = 0 ]; then
		# From a directory postgres may enter, which the checkout may not be.
		(cd "$WORK" && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

cleanup() {
	local status=$?
	trap - EXIT INT TERM
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		for _ in $(seq 1 40); do
			kill -0 "$server_pid" 2>/dev/null || break
			sleep 0.5
		done
		kill -KILL "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	if [ -n "$pg_started" ]; then
		as_postgres "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
	if [ "$status" != 0 ]; then
		for f in "$WORK/temporal/server.log" "$WORK/pg/postgres.log"; do
			[ -s "$f" ] || continue
			log "last lines of $f:"
			tail -n 20 "$f" >&2
		done
	fi
	if [ "${CLUSTER_KEEP:-}" = 1 ]; then
		log "kept $WORK"
	else
		rm -rf "$WORK"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# free_ports N prints the first of N consecutive loopback ports nobody listens
# on, below Linux's ephemeral range (where outgoing connections take theirs).
free_ports() {
	local n=$1 base i
	for _ in $(seq 1 100); do
		base=$((20000 + RANDOM % 12000))
		for ((i = 0; i < n; i++)); do
			# A connection that succeeds means the port is taken.
			if (exec 3<>"/dev/tcp/127.0.0.1/$((base + i))") 2>/dev/null; then
				continue 2
			fi
		done
		echo "$base"
		return 0
	done
	return 1
}

# --- 3. Start PostgreSQL --------------------------------------------------------

if [ "$(id -u)" = 0 ]; then
	id postgres >/dev/null 2>&1 || die "no postgres user to run PostgreSQL as (Debian's package creates it)"
fi
mkdir -p "$WORK/pg"
[ "$(id -u)" != 0 ] || chown postgres "$WORK/pg"
# A password of this run's own, for the role Temporal connects as. It goes
# to initdb through a file only the postgres user reads, removed at once, and
# to the tools and the server through their environment, never on a command line.
SQL_PASSWORD=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
export SQL_PASSWORD
(umask 077 && printf '%s\n' "$SQL_PASSWORD" >"$WORK/pg/pwfile")
[ "$(id -u)" != 0 ] || chown postgres "$WORK/pg/pwfile"
as_postgres "$PGBIN/initdb" --pgdata="$WORK/pg/data" --username=temporal --pwfile="$WORK/pg/pwfile" \
	--auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C >"$WORK/pg/initdb.log" 2>&1 ||
	{ cat "$WORK/pg/initdb.log" >&2; die "initdb"; }
rm -f "$WORK/pg/pwfile"
PG_PORT=$(free_ports 1) || die "no free port for PostgreSQL"
# Durability is not wanted from a database that lives for one test run.
as_postgres "$PGBIN/pg_ctl" --pgdata="$WORK/pg/data" --log="$WORK/pg/postgres.log" --wait --timeout=120 \
	-o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$WORK/pg -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
	start >/dev/null || die "PostgreSQL did not start"
pg_started=1
log "PostgreSQL on 127.0.0.1:$PG_PORT"
done_step "postgresql start"

# --- 4. Temporal's databases and schemas ----------------------------------------

SQL_PLUGIN=postgres12 SQL_HOST=127.0.0.1 SQL_PORT=$PG_PORT SQL_USER=temporal PATH="$BIN:$PATH" \
	sh deploy/temporal/setup-schema.sh >"$WORK/setup-schema.log" 2>&1 ||
	{ cat "$WORK/setup-schema.log" >&2; die "schema setup"; }
done_step "schema"

# --- 5. The server, the namespace, the search attributes ------------------------

base=$(free_ports 9) || die "no 9 free consecutive ports for the Temporal server"
export CLUSTER_PG_PORT=$PG_PORT
export CLUSTER_FRONTEND_PORT=$base
export CLUSTER_FRONTEND_HTTP_PORT=$((base + 1))
export CLUSTER_FRONTEND_MEMBERSHIP_PORT=$((base + 2))
export CLUSTER_HISTORY_PORT=$((base + 3))
export CLUSTER_HISTORY_MEMBERSHIP_PORT=$((base + 4))
export CLUSTER_MATCHING_PORT=$((base + 5))
export CLUSTER_MATCHING_MEMBERSHIP_PORT=$((base + 6))
export CLUSTER_WORKER_PORT=$((base + 7))
export CLUSTER_WORKER_MEMBERSHIP_PORT=$((base + 8))
export CLUSTER_DYNAMIC_CONFIG=$ROOT/deploy/temporal/dynamicconfig/cloudflow.yaml
ADDRESS=127.0.0.1:$CLUSTER_FRONTEND_PORT
mkdir -p "$WORK/temporal/config"
cp scripts/cluster/temporal-server.yaml "$WORK/temporal/config/cluster.yaml"
"$BIN/temporal-server" --root "$WORK/temporal" --config config --env cluster --allow-no-auth start \
	>"$WORK/temporal/server.log" 2>&1 &
server_pid=$!
log "Temporal server $TEMPORAL_SERVER_VERSION starting on $ADDRESS (pid $server_pid)"

TEMPORAL_ADDRESS=$ADDRESS TEMPORAL_NAMESPACE=$NAMESPACE PATH="$BIN:$PATH" \
	sh deploy/temporal/setup-namespace.sh >"$WORK/setup-namespace.log" 2>&1 ||
	{ cat "$WORK/setup-namespace.log" >&2; die "namespace setup"; }
kill -0 "$server_pid" 2>/dev/null || die "the Temporal server exited"
# The frontend learns of new search attributes when it refreshes its copy of
# the namespace: wait until a query that names them is accepted.
query='CloudflowProvider = "crusoe" AND CloudflowResources = "x" AND CloudflowStackStatus = "x"'
for i in $(seq 1 60); do
	if "$BIN/temporal" workflow count --address "$ADDRESS" --namespace "$NAMESPACE" --query "$query" >/dev/null 2>&1; then
		break
	fi
	[ "$i" -lt 60 ] || die "the search attributes are still unknown to the frontend after 60s"
	sleep 1
done
log "namespace $NAMESPACE and search attributes ready"
done_step "server and namespace"

# --- 6. The tests ----------------------------------------------------------------

log "running the cluster tests"
CLOUDFLOW_CLUSTER_ADDRESS=$ADDRESS CLOUDFLOW_CLUSTER_NAMESPACE=$NAMESPACE TEMPORAL_CLI=$BIN/temporal \
	"$GO" test -tags cluster -race -count=1 -v -timeout 20m -run '^TestCluster' ./e2e
done_step "tests"

timings+=("$(printf '%-28s %4ds' "total" $((SECONDS - start_time)))")
log "passed; time per step:"
printf '  %s\n' "${timings[@]}" >&2
