# Radicale (apt radicale), CalDAV, no authentication, private storage.
# Sourced by start.sh.
start_radicale() {
	local bin=/usr/bin/radicale
	if [ ! -x "$bin" ]; then
		skip radicale "apt package radicale not installed"
		return 0
	fi
	local dir port
	dir="$(fresh_dir radicale)"
	port="$(free_port 18232)" || return 1
	# Everyone, anonymous included, may read and write everything.
	printf '[all]\nuser: .*\ncollection: .*\npermissions: RrWw\n' >"$dir/rights"
	cat >"$dir/config" <<CONF
[server]
hosts = 127.0.0.1:$port
[auth]
type = none
[rights]
type = from_file
file = $dir/rights
[storage]
filesystem_folder = $dir/collections
[logging]
level = warning
CONF
	"$bin" --config "$dir/config" >"$dir/log" 2>&1 &
	local pid=$!
	record radicale "$pid"
	wait_http radicale "http://127.0.0.1:$port/" "$pid" || return 1
	export_url OPTIMIST_INTEROP_RADICALE "http://127.0.0.1:$port"
}
