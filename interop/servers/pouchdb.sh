# pouchdb-server (npm), the CouchDB API, in memory. Sourced by start.sh.
start_pouchdb() {
	local bin="$npm_bin/pouchdb-server"
	if [ ! -x "$bin" ]; then
		skip pouchdb "npm package pouchdb-server not installed (no npm or no registry)"
		return 0
	fi
	local dir port
	dir="$(fresh_dir pouchdb)"
	port="$(free_port 18059)" || return 1
	(cd "$dir" && exec "$bin" --in-memory --host 127.0.0.1 --port "$port" \
		--config "$dir/config.json" --no-stdout-logs) >"$dir/log" 2>&1 &
	local pid=$!
	record pouchdb "$pid"
	wait_http pouchdb "http://127.0.0.1:$port/" "$pid" || return 1
	export_url OPTIMIST_INTEROP_POUCHDB "http://127.0.0.1:$port"
}
