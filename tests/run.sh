#!/bin/sh
# SPDX-License-Identifier: ISC
# run.sh BUILD_DIR: every test of `make check`: unit tests, configuration
# golden files, lint, integration.  Prints each suite's own summary and ends
# with the total line `N passed, N failed`.  Exit status 1 on any failure.
set -u
BUILD=${1:-build/rel}
cd "$(dirname "$0")/.."
total_pass=0
total_fail=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# Adds the counts of the last `N passed, N failed` line of $out.
count() {
	line=$(grep -E '(^|: )[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	p=$(echo "$line" | sed -E 's/.*(^|[^0-9])([0-9]+) passed.*/\2/')
	f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
	if [ -z "$line" ]; then
		echo "run.sh: $1 printed no summary; counted as failed" >&2
		p=0
		f=1
	fi
	if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1	# crashed after its summary
	fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	echo "== unit: $(basename "$t")"
	"$t" >"$out" 2>&1
	rc=$?
	cat "$out"
	count "$t" $rc
done

if [ -x tests/conf/run.sh ] || [ -f tests/conf/run.sh ]; then
	echo "== configuration golden files"
	sh tests/conf/run.sh "$BUILD" >"$out" 2>&1
	rc=$?
	cat "$out"
	count conf $rc
fi

echo "== lint"
sh tests/lint/run.sh "$BUILD" >"$out" 2>&1
rc=$?
cat "$out"
count lint $rc

echo "== integration"
# Workers run sandboxed as other users: leak checks cannot run there.
ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 \
    /usr/bin/python3 tests/integration/run.py "$BUILD" >"$out" 2>&1
rc=$?
cat "$out"
count integration $rc

echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
