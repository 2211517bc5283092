#!/usr/bin/env bash
# Demo: start the local stack (Temporal dev server, cloud simulator, worker) with
# `cloudflow dev`, provision the example Crusoe VM through a workflow, show what the
# simulated cloud holds, deprovision it, and check that nothing is left behind;
# then do the same for a CloudMC instance, a container and a KraftCloud app,
# and start and stop a fleet of KraftCloud instances as one workflow each.
#
# Run it with `make demo`, which builds bin/cloudflow and bin/temporal first.
# Ports: CLOUDFLOW_DEMO_TEMPORAL_PORT (default 7233), CLOUDFLOW_DEMO_SIM_PORT (default 8787).
# Exit code: 0 when every step passed, otherwise the first failing step's code.
set -euo pipefail

cd "$(dirname "$0")/.."

temporal_port="${CLOUDFLOW_DEMO_TEMPORAL_PORT:-7233}"
sim_port="${CLOUDFLOW_DEMO_SIM_PORT:-8787}"
ready_timeout=120 # seconds for the stack to come up
stop_grace=20     # seconds between SIGINT and SIGKILL when stopping it
spec=examples/crusoe-vm.yaml

section() { printf '\n== %s\n' "$*"; }

for f in bin/cloudflow "$spec" examples/kraftcloud-app.yaml examples/cloudmc-vm.yaml examples/container.yaml; do
	if [[ ! -e $f ]]; then
		echo "demo: $f is missing; run \`make demo\` from the repository root" >&2
		exit 1
	fi
done

# The demo talks to its own dev server only: drop any TEMPORAL_* settings that
# point elsewhere (a namespace, an API key, TLS, a profile), but keep
# TEMPORAL_CLI, which tells `cloudflow dev` where the Temporal CLI is.
while IFS= read -r name; do
	case $name in
	TEMPORAL_CLI) ;;
	TEMPORAL_*) unset "$name" ;;
	esac
done < <(compgen -e)

work="$(mktemp -d "${TMPDIR:-/tmp}/cloudflow-demo.XXXXXX")"
ready_file="$work/ready"
dev_log="$work/dev.log"
dev_pid=""
dev_pgid=""

# stop_dev interrupts `cloudflow dev`, kills it if it is still up after
# $stop_grace seconds, and returns its exit status.
stop_dev() {
	[[ -n $dev_pid ]] || return 0
	local rc=0 i
	if kill -0 "$dev_pid" 2>/dev/null; then
		kill -INT "$dev_pid" 2>/dev/null || true
		for ((i = 0; i < stop_grace * 10; i++)); do
			kill -0 "$dev_pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$dev_pid" 2>/dev/null; then
			echo "demo: cloudflow dev did not stop within ${stop_grace}s of SIGINT; killing its process group" >&2
			kill -KILL -- "-$dev_pid" 2>/dev/null || kill -KILL "$dev_pid" 2>/dev/null || true
		fi
	fi
	wait "$dev_pid" 2>/dev/null || rc=$?
	dev_pid=""
	return "$rc"
}

# sweep_group kills whatever is left in the dev process group (a Temporal
# server orphaned by a crashed `cloudflow dev` would hold its port).
sweep_group() {
	[[ -n $dev_pgid ]] || return 0
	if kill -0 -- "-$dev_pgid" 2>/dev/null; then
		echo "demo: killing processes left behind by cloudflow dev" >&2
		kill -KILL -- "-$dev_pgid" 2>/dev/null || true
	fi
	dev_pgid=""
}

cleanup() {
	local rc=$? dev_rc=0
	trap - EXIT INT TERM
	set +e
	if [[ -n $dev_pid ]]; then
		section "Stopping cloudflow dev"
		stop_dev
		dev_rc=$?
		# 130 is "ended by SIGINT", which is what we asked for.
		if ((dev_rc != 0 && dev_rc != 130)); then
			echo "demo: cloudflow dev exited with status $dev_rc" >&2
			((rc == 0)) && rc=$dev_rc
		fi
	fi
	sweep_group
	if ((rc != 0)); then
		if [[ -s $dev_log ]]; then
			section "cloudflow dev log (last 100 lines of $dev_log)"
			tail -n 100 "$dev_log"
		fi
		echo >&2
		echo "demo: FAILED (exit code $rc); the dev log is kept at $dev_log" >&2
	else
		rm -rf "$work"
		section "Demo passed"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

section "Starting cloudflow dev (Temporal on 127.0.0.1:$temporal_port, simulator on 127.0.0.1:$sim_port)"
# Job control puts `cloudflow dev` in a process group of its own, so that it
# does not start with SIGINT ignored (as background commands of a script do)
# and so that a SIGKILL can take its children (the Temporal server) with it.
set -m
bin/cloudflow dev \
	--ready-file "$ready_file" \
	--temporal-port "$temporal_port" \
	--sim-listen "127.0.0.1:$sim_port" \
	>"$dev_log" 2>&1 &
dev_pid=$!
dev_pgid=$dev_pid
set +m

for ((i = 0; ; i++)); do
	[[ -e $ready_file ]] && break
	if ! kill -0 "$dev_pid" 2>/dev/null; then
		rc=0
		wait "$dev_pid" || rc=$?
		dev_pid=""
		echo "demo: cloudflow dev exited (status $rc) before it was ready" >&2
		exit $((rc == 0 ? 1 : rc))
	fi
	if ((i >= ready_timeout * 10)); then
		echo "demo: cloudflow dev was not ready after ${ready_timeout}s" >&2
		exit 3
	fi
	sleep 0.1
done
echo "ready after $((i / 10)).$((i % 10))s (log: $dev_log)"

export TEMPORAL_ADDRESS="127.0.0.1:$temporal_port"
sim_endpoint="http://127.0.0.1:$sim_port"

section "Provisioning the VM in $spec"
bin/cloudflow vm provision -f "$spec" --wait

section "What the simulated cloud holds"
bin/cloudflow sim inventory --endpoint "$sim_endpoint"

section "Deprovisioning the VM in $spec"
bin/cloudflow vm deprovision -f "$spec" --wait

section "Checking that nothing is left"
bin/cloudflow sim inventory --endpoint "$sim_endpoint" --expect-empty

section "Provisioning a CloudMC instance (examples/cloudmc-vm.yaml), then removing it"
bin/cloudflow vm provision -f examples/cloudmc-vm.yaml --wait
bin/cloudflow vm deprovision -f examples/cloudmc-vm.yaml --wait

section "Creating a container through the container API (examples/container.yaml), then deleting it"
bin/cloudflow container create -f examples/container.yaml --wait
bin/cloudflow container delete -f examples/container.yaml --wait
bin/cloudflow sim inventory --endpoint "$sim_endpoint" --expect-empty

app=examples/kraftcloud-app.yaml
section "Deploying the KraftCloud app in $app (volume, service group, instance)"
bin/cloudflow instances deploy -f "$app" --wait

section "Undeploying it"
bin/cloudflow instances undeploy -f "$app" --wait
bin/cloudflow sim inventory --endpoint "$sim_endpoint" --expect-empty

section "Seeding a KraftCloud fleet of 500 stopped instances in the simulator"
bin/cloudflow sim seed --endpoint "$sim_endpoint" --kraftcloud-instances 500 --prefix web --out "$work/fleet.txt"

section "Starting the fleet as one workflow (batch calls of 100)"
bin/cloudflow instances start --provider kraftcloud --file "$work/fleet.txt" --wait

section "Stopping the fleet"
bin/cloudflow instances stop --provider kraftcloud --file "$work/fleet.txt" --wait
