# etcd with its v2 keys API (apt etcd-server, --enable-v2). Sourced by
# start.sh.
start_etcd() {
	local bin=/usr/bin/etcd
	if [ ! -x "$bin" ]; then
		skip etcd "apt package etcd-server not installed"
		return 0
	fi
	if ! "$bin" --help 2>&1 | grep -q -- '--enable-v2'; then
		skip etcd "this etcd ($("$bin" --version | head -n 1)) has no v2 API (--enable-v2)"
		return 0
	fi
	local dir port peer
	dir="$(fresh_dir etcd)"
	port="$(free_port 18379)" && peer="$(free_port $((port + 1)))" || return 1
	"$bin" --name interop --data-dir "$dir/data" --enable-v2=true \
		--listen-client-urls "http://127.0.0.1:$port" --advertise-client-urls "http://127.0.0.1:$port" \
		--listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
		--initial-cluster "interop=http://127.0.0.1:$peer" >"$dir/log" 2>&1 &
	local pid=$!
	record etcd "$pid"
	wait_http etcd "http://127.0.0.1:$port/v2/keys/" "$pid" --fail || return 1
	export_url OPTIMIST_INTEROP_ETCD "http://127.0.0.1:$port"
}
