#!/usr/bin/env bash
# Stops the servers start.sh started: each by the process id it recorded
# (its process group's children too), waiting at most 10 s before SIGKILL.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"

[ -f "$state/pids" ] || exit 0
while read -r name pid; do
	[ -n "$pid" ] || continue
	kill -0 "$pid" 2>/dev/null || continue
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "$name ($pid) did not stop; killing it"
		kill -KILL "$pid" 2>/dev/null
	fi
	log "stopped $name"
done <"$state/pids"
: >"$state/pids"
