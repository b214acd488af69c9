#!/usr/bin/env bash
# Starts every real server of the interop suite on 127.0.0.1, each on a
# private config and a free port from 18000 on, waits until each answers,
# and writes the URLs to $OPTIMIST_INTEROP_STATE/env for the Go tests
# (`. "$OPTIMIST_INTEROP_STATE/env"`). A server whose package is not
# installed is skipped with its reason in $OPTIMIST_INTEROP_STATE/skipped;
# one that is installed but does not start fails the script. stop.sh
# stops them all.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"

mkdir -p "$state"
"$here/stop.sh" >/dev/null 2>&1 || true
: >"$state/env"
: >"$state/pids"
: >"$state/skipped"

for f in "$here"/servers/*.sh; do
	. "$f"
done

failed=()
for name in azurite apache nginx pouchdb etcd radicale json_server; do
	if ! "start_$name"; then
		failed+=("$name")
	fi
done
if [ ${#failed[@]} -gt 0 ]; then
	log "installed but did not start: ${failed[*]}"
	exit 1
fi
log "started: $(cut -d' ' -f1 "$state/pids" | tr '\n' ' ')"
