# nginx with its dav module (apt nginx) on a private config: a negative
# control, it ignores If-Match on PUT. Sourced by start.sh.
start_nginx() {
	local bin=/usr/sbin/nginx
	if [ ! -x "$bin" ]; then
		skip nginx "apt package nginx not installed"
		return 0
	fi
	local dir port
	dir="$(fresh_dir nginx)"
	port="$(free_port 18081)" || return 1
	mkdir -p "$dir/www" "$dir/tmp"
	cat >"$dir/nginx.conf" <<CONF
daemon off;
user root;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/log warn;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $dir/tmp;
	proxy_temp_path $dir/tmp;
	fastcgi_temp_path $dir/tmp;
	uwsgi_temp_path $dir/tmp;
	scgi_temp_path $dir/tmp;
	server {
		listen 127.0.0.1:$port;
		root $dir/www;
		dav_methods PUT DELETE MKCOL COPY MOVE;
		create_full_put_path on;
		dav_access user:rw group:rw all:r;
	}
}
CONF
	"$bin" -p "$dir" -e "$dir/log" -c "$dir/nginx.conf" >>"$dir/log" 2>&1 &
	local pid=$!
	record nginx "$pid"
	wait_http nginx "http://127.0.0.1:$port/" "$pid" || return 1
	export_url OPTIMIST_INTEROP_NGINX "http://127.0.0.1:$port"
}
