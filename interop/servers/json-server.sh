# json-server (npm): a negative control, it ignores If-Match. Sourced by
# start.sh.
start_json_server() {
	local bin="$npm_bin/json-server"
	if [ ! -x "$bin" ]; then
		skip json-server "npm package json-server not installed (no npm or no registry)"
		return 0
	fi
	local dir port
	dir="$(fresh_dir json-server)"
	port="$(free_port 18300)" || return 1
	echo '{"counters": []}' >"$dir/db.json"
	"$bin" --host 127.0.0.1 --port "$port" --quiet "$dir/db.json" >"$dir/log" 2>&1 &
	local pid=$!
	record json-server "$pid"
	wait_http json-server "http://127.0.0.1:$port/counters" "$pid" --fail || return 1
	export_url OPTIMIST_INTEROP_JSON_SERVER "http://127.0.0.1:$port"
}
