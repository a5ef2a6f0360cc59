#!/bin/sh
# SPDX-License-Identifier: ISC
#
# run.sh BUILD_DIR: golden tests of bulwark.conf(5) through `bulwarkd -n`.
# Each NN.conf must load (exit 0) and `bulwarkd -n -v` must print NN.ok,
# which must itself load and print NN.ok again (the dump is canonical).
# Each bad/NN.conf must fail (exit 1) with exactly bad/NN.err on stderr.
# The example etc/bulwark.conf must load and its dump round-trip too.
# Prints `ok NAME` or `FAIL NAME` per case, then `N passed, N failed`.

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
case $1 in
/*)	bulwarkd=$1/bulwarkd ;;
*)	bulwarkd=$(pwd)/$1/bulwarkd ;;
esac
if [ ! -x "$bulwarkd" ]; then
	echo "$0: no $bulwarkd" >&2
	exit 2
fi
cd "$(dirname "$0")" || exit 2
tmp=$(mktemp -d /tmp/bulwark-conf.XXXXXX) || exit 2
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

pass() {
	echo "ok $1"
	passed=$((passed + 1))
}

fail() {
	echo "FAIL $1"
	failed=$((failed + 1))
}

# check_good NAME CONF EXPECTED: CONF loads and dumps as EXPECTED.
check_good() {
	"$bulwarkd" -n -v -f "$2" >"$tmp/out" 2>"$tmp/err"
	status=$?
	if [ $status -eq 0 ] && cmp -s "$tmp/out" "$3"; then
		pass "$1"
	else
		fail "$1"
		echo "  exit $status; stderr:"
		sed 's/^/  /' "$tmp/err"
		diff -u "$3" "$tmp/out" | sed 's/^/  /' | head -40
	fi
}

for conf in [0-9]*.conf; do
	name=${conf%.conf}
	check_good "$conf" "$conf" "$name.ok"
	cp "$name.ok" "$tmp/dump.conf"
	check_good "$name.ok (dump loads back)" "$tmp/dump.conf" "$name.ok"
done

for conf in bad/[0-9]*.conf; do
	name=${conf%.conf}
	"$bulwarkd" -n -f "$conf" >"$tmp/out" 2>"$tmp/err"
	status=$?
	if [ $status -eq 1 ] && cmp -s "$tmp/err" "$name.err"; then
		pass "$conf"
	else
		fail "$conf"
		echo "  exit $status (want 1)"
		diff -u "$name.err" "$tmp/err" | sed 's/^/  /' | head -40
	fi
done

# The example configuration: it loads, and its dump is canonical.
if "$bulwarkd" -n -v -f ../../etc/bulwark.conf >"$tmp/example.ok" \
    2>"$tmp/err"; then
	pass "etc/bulwark.conf"
	cp "$tmp/example.ok" "$tmp/example.conf"
	check_good "etc/bulwark.conf (dump loads back)" "$tmp/example.conf" \
	    "$tmp/example.ok"
else
	fail "etc/bulwark.conf"
	sed 's/^/  /' "$tmp/err"
fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
