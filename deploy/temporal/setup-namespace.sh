#!/bin/sh
# Registers the namespace cloudflow runs in and the search attributes it
# starts every run with (starter/plans.go), once the Temporal frontend serves.
# Safe to run again: what exists is left as it is (an attribute that exists
# with another type is an error).
#
# It runs in the temporalio/admin-tools image (docker-compose.yml) and on a
# developer's machine (scripts/test-cluster.sh), with the Temporal CLI on
# PATH. It reads:
#   TEMPORAL_ADDRESS              the frontend, host:port (read by the CLI too)
#   TEMPORAL_NAMESPACE            the namespace (default default)
#   TEMPORAL_NAMESPACE_RETENTION  how long closed runs are kept (default 72h)
set -eu

: "${TEMPORAL_ADDRESS:?set TEMPORAL_ADDRESS to the Temporal frontend, host:port}"
TEMPORAL_NAMESPACE=${TEMPORAL_NAMESPACE:-default}
export TEMPORAL_ADDRESS TEMPORAL_NAMESPACE

# name=type for each search attribute cloudflow sets (starter.SearchAttributeTypes).
SEARCH_ATTRIBUTES="CloudflowProvider=Keyword CloudflowResources=KeywordList CloudflowStackStatus=Keyword"

# The frontend may still be starting: give it about two minutes.
tries=1
until temporal operator cluster health >/dev/null 2>&1; do
	if [ "$tries" -ge 60 ]; then
		echo "setup-namespace: the Temporal frontend at $TEMPORAL_ADDRESS is not serving:" >&2
		temporal operator cluster health >&2 || true
		exit 1
	fi
	tries=$((tries + 1))
	sleep 2
done

if temporal operator namespace describe --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
	echo "setup-namespace: namespace $TEMPORAL_NAMESPACE exists"
else
	echo "setup-namespace: creating namespace $TEMPORAL_NAMESPACE"
	temporal operator namespace create --namespace "$TEMPORAL_NAMESPACE" \
		--retention "${TEMPORAL_NAMESPACE_RETENTION:-72h}"
fi

# Every frontend learns of a new namespace when it next refreshes its cache
# of them (about 10s): until then, calls in the namespace fail.
tries=1
until temporal operator search-attribute list --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; do
	if [ "$tries" -ge 60 ]; then
		echo "setup-namespace: namespace $TEMPORAL_NAMESPACE is still unknown to the frontend:" >&2
		temporal operator search-attribute list --namespace "$TEMPORAL_NAMESPACE" >&2 || true
		exit 1
	fi
	tries=$((tries + 1))
	sleep 1
done

for attr in $SEARCH_ATTRIBUTES; do
	name=${attr%%=*}
	type=${attr#*=}
	echo "setup-namespace: search attribute $name ($type)"
	temporal operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" \
		--name "$name" --type "$type"
done
echo "setup-namespace: done"
