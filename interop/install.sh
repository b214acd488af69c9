#!/usr/bin/env bash
# Installs the real servers of the interop suite: Debian packages with
# apt-get (as root; one apt-get update, only when something is missing) and
# npm packages, pinned, into $OPTIMIST_INTEROP_CACHE/npm so that a re-run
# installs nothing. A package that cannot be installed here is reported;
# start.sh then skips its server and says why.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"

apt_packages=(apache2 nginx etcd-server radicale curl)
npm_packages=(azurite@3.35.0 json-server@0.17.4 pouchdb-server@4.2.0)

install_apt() {
	local missing=() p
	for p in "${apt_packages[@]}"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		log "apt: ${apt_packages[*]} already installed"
		return 0
	fi
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		log "apt: cannot install ${missing[*]}: not root or no apt-get"
		return 0
	fi
	# The services must not start from the package scripts: the suite runs
	# its own instances on private configs.
	local policy=/usr/sbin/policy-rc.d made_policy=
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
	fi
	log "apt: installing ${missing[*]}"
	apt-get update -qq >/dev/null 2>&1 || log "apt: update failed"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		log "apt: install of ${missing[*]} failed"
	[ -n "$made_policy" ] && rm -f "$policy"
	return 0
}

install_npm() {
	if ! command -v npm >/dev/null; then
		log "npm: not found; cannot install ${npm_packages[*]}"
		return 0
	fi
	local want="${npm_packages[*]}"
	if [ -f "$cache/npm/.installed" ] && [ "$(cat "$cache/npm/.installed")" = "$want" ]; then
		log "npm: $want already in $cache/npm"
		return 0
	fi
	mkdir -p "$cache/npm"
	log "npm: installing $want into $cache/npm"
	# No install scripts: leveldown's native build is not needed, the
	# servers run in memory.
	if npm install --prefix "$cache/npm" --no-audit --no-fund --ignore-scripts --loglevel=error \
		"${npm_packages[@]}" >"$cache/npm/install.log" 2>&1; then
		echo "$want" >"$cache/npm/.installed"
	else
		log "npm: install failed; see $cache/npm/install.log"
		tail -n 5 "$cache/npm/install.log" >&2
	fi
	return 0
}

install_apt
install_npm
