#!/bin/sh
# SPDX-License-Identifier: ISC
# bench/lmtp/run.sh BUILD_DIR [COUNT]: delivers COUNT (10000) generated
# messages over 4 LMTP connections to Bulwark and then to Dovecot, and prints
# messages/s of each, their ratio and the peak resident memory of every LMTP
# process.  Run as root.  See README and bench.py for the knobs.
set -eu
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 BUILD_DIR [COUNT]" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
for prog in bulwarkd bulwarkctl storaged lmtpd; do
	if [ ! -x "$build/$prog" ]; then
		echo "run.sh: $build/$prog is missing: make BUILD=$1 first" >&2
		exit 2
	fi
done
exec /usr/bin/python3 "$here/bench.py" "$build" ${2:+"$2"}
