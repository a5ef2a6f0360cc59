#!/bin/sh
# SPDX-License-Identifier: ISC
# bench/imap/run.sh BUILD_DIR [COUNT]: fills one mailbox with COUNT (10000)
# generated messages in Bulwark and in Dovecot, then measures IMAP on both
# and prints each figure with the ratio.  Run as root.  See README.
set -eu
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 BUILD_DIR [COUNT]" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
for prog in bulwarkd bulwarkctl storaged lmtpd imapd bench/lmtp/bench_lmtp_client; do
	if [ ! -x "$build/$prog" ]; then
		echo "run.sh: $build/$prog is missing: make BUILD=$1 first" >&2
		exit 2
	fi
done
exec /usr/bin/python3 "$here/bench.py" "$build" ${2:+"$2"}
