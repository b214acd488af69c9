# Apache httpd mod_dav (apt apache2) on a private config; the system
# service is never used. Sourced by start.sh.
start_apache() {
	local bin=/usr/sbin/apache2 mods=/usr/lib/apache2/modules
	if [ ! -x "$bin" ] || [ ! -f "$mods/mod_dav_fs.so" ]; then
		skip apache "apt package apache2 not installed"
		return 0
	fi
	local dir port
	dir="$(fresh_dir apache)"
	port="$(free_port 18080)" || return 1
	mkdir -p "$dir/www" "$dir/lock"
	chown -R www-data: "$dir/www" "$dir/lock" 2>/dev/null || chmod -R a+rwX "$dir/www" "$dir/lock"
	cat >"$dir/httpd.conf" <<CONF
ServerName 127.0.0.1
ServerRoot $dir
Listen 127.0.0.1:$port
PidFile $dir/httpd.pid
ErrorLog $dir/log
LogLevel warn
User www-data
Group www-data
LoadModule mpm_event_module $mods/mod_mpm_event.so
# One server process: mod_dav's lock database loses locks taken by one
# process when another writes it (measured: 412 "state-token not found"
# under contention with the default of several processes).
StartServers 1
ServerLimit 1
ThreadsPerChild 64
MaxRequestWorkers 64
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule dav_module $mods/mod_dav.so
LoadModule dav_fs_module $mods/mod_dav_fs.so
LoadModule dav_lock_module $mods/mod_dav_lock.so
LoadModule mime_module $mods/mod_mime.so
TypesConfig /etc/mime.types
DavLockDB $dir/lock/DavLock
DocumentRoot $dir/www
<Directory $dir/www>
	Dav On
	Require all granted
</Directory>
CONF
	"$bin" -f "$dir/httpd.conf" -DFOREGROUND >>"$dir/log" 2>&1 &
	local pid=$!
	record apache "$pid"
	wait_http apache "http://127.0.0.1:$port/" "$pid" || return 1
	export_url OPTIMIST_INTEROP_APACHE "http://127.0.0.1:$port"
}
