#!/usr/bin/env bash
# The interop stage: install the real servers (install.sh), start them
# (start.sh), run the Go interop tests against them with their URLs in the
# environment, and stop them (stop.sh) however the tests end. Prints how
# long each step took. Extra arguments go to go test (e.g. -run TestProbe).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"

t0=$(date +%s)
"$here/install.sh"
t1=$(date +%s)
trap '"$here/stop.sh"' EXIT
"$here/start.sh"
t2=$(date +%s)
if [ -s "$state/skipped" ]; then
	echo "-- servers skipped:"
	cat "$state/skipped"
fi
set -a
. "$state/env"
set +a
status=0
(cd "$here/.." && go test -count=1 -v "$@" ./interop/...) || status=$?
t3=$(date +%s)
echo "-- interop times: install $((t1 - t0)) s, start $((t2 - t1)) s, tests $((t3 - t2)) s"
exit "$status"
