# Azurite (npm azurite): Blob and Table, in memory. Sourced by start.sh.
start_azurite() {
	local bin="$npm_bin/azurite"
	if [ ! -x "$bin" ]; then
		skip azurite "npm package azurite not installed (no npm or no registry)"
		return 0
	fi
	local dir blob table
	dir="$(fresh_dir azurite)"
	blob="$(free_port 18000)" && table="$(free_port $((blob + 2)))" || return 1
	(cd "$dir" && exec "$bin" --inMemoryPersistence --skipApiVersionCheck --disableProductStyleUrl \
		--blobHost 127.0.0.1 --blobPort "$blob" \
		--queueHost 127.0.0.1 --queuePort "$(free_port $((blob + 1)))" \
		--tableHost 127.0.0.1 --tablePort "$table"
		) >"$dir/log" 2>&1 &
	local pid=$!
	record azurite "$pid"
	wait_http azurite "http://127.0.0.1:$blob/" "$pid" || return 1
	wait_http azurite "http://127.0.0.1:$table/" "$pid" || return 1
	# The account is Azurite's well-known development account; the tests
	# sign with its well-known key.
	export_url OPTIMIST_INTEROP_AZURITE_BLOB "http://127.0.0.1:$blob/devstoreaccount1"
	export_url OPTIMIST_INTEROP_AZURITE_TABLE "http://127.0.0.1:$table/devstoreaccount1"
}
