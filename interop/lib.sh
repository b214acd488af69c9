# Helpers shared by the interop scripts; sourced, not run.
#
# State lives in $OPTIMIST_INTEROP_STATE (default /tmp/optimist-interop):
#   env        export lines the Go tests read (one OPTIMIST_INTEROP_* URL each)
#   pids       "name pid" of every server started, for stop.sh
#   skipped    "name: reason" of every server that could not be set up
#   NAME/      each server's private config, data and log
# npm packages go to $OPTIMIST_INTEROP_CACHE (default ~/.cache/optimist-interop).

state="${OPTIMIST_INTEROP_STATE:-/tmp/optimist-interop}"
cache="${OPTIMIST_INTEROP_CACHE:-$HOME/.cache/optimist-interop}"
npm_bin="$cache/npm/node_modules/.bin"

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# skip NAME REASON records that a server is left out and why.
skip() {
	log "SKIP $1: $2"
	printf '%s: %s\n' "$1" "$2" >>"$state/skipped"
}

# port_free PORT succeeds when nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port BASE prints the first free port from BASE on (50 tried).
free_port() {
	local p
	for p in $(seq "$1" "$(($1 + 49))"); do
		if port_free "$p"; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# record NAME PID notes a started server for stop.sh.
record() { printf '%s %s\n' "$1" "$2" >>"$state/pids"; }

# export_url VAR URL makes URL available to the Go tests as $VAR.
export_url() {
	printf 'export %s=%q\n' "$1" "$2" >>"$state/env"
	log "$1=$2"
}

# wait_http NAME URL PID [CURL ARGS...] waits, at most 30 s, until URL
# answers any HTTP status; it fails early when PID has exited.
wait_http() {
	local name="$1" url="$2" pid="$3"
	shift 3
	local i
	for i in $(seq 1 150); do
		if curl -s -o /dev/null --max-time 1 "$@" "$url"; then
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			log "$name exited while starting; its log:"
			tail -n 20 "$state/$name/log" >&2 || true
			return 1
		fi
		sleep 0.2
	done
	log "$name did not answer $url within 30 s; its log:"
	tail -n 20 "$state/$name/log" >&2 || true
	return 1
}

# fresh_dir NAME makes an empty private directory for a server.
fresh_dir() {
	rm -rf "${state:?}/$1"
	mkdir -p "$state/$1"
	echo "$state/$1"
}
