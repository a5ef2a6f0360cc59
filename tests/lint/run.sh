#!/bin/sh
# SPDX-License-Identifier: ISC
# lint/run.sh BUILD_DIR: checks that are not compiler warnings.
#  - banned calls (strcpy, strcat, sprintf, vsprintf, gets, atoi, atol)
#  - every header compiles on its own
#  - every man page is clean under mandoc -Tlint
#  - every configuration keyword of etc/bulwark.conf is in bulwark.conf.5
#  - every source file starts with an SPDX line
set -u
BUILD=${1:-build/rel}
cd "$(dirname "$0")/../.."
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }

srcs=$(find lib master store workers bench tests/unit tests/fuzz -name '*.[ch]' 2>/dev/null)

hits=$(grep -nE '(^|[^_a-z])(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol)\(' $srcs || true)
if [ -z "$hits" ]; then ok banned-calls; else echo "$hits"; bad banned-calls; fi

nospdx=""
for f in $srcs; do
	head -n 2 "$f" | grep -q 'SPDX-License-Identifier' || nospdx="$nospdx $f"
done
if [ -z "$nospdx" ]; then ok spdx; else echo "no SPDX line:$nospdx"; bad spdx; fi

hfail=""
for h in $(find lib master store workers -name '*.h'); do
	printf '#include "%s"\n' "$h" |
	    cc -fsyntax-only -Wall -Wextra -Werror -I. -Ilib -include config.h \
	    -x c - 2>/dev/null || hfail="$hfail $h"
done
if [ -z "$hfail" ]; then ok headers-standalone; else echo "not standalone:$hfail"; bad headers-standalone; fi

if command -v mandoc >/dev/null 2>&1; then
	mfail=""
	for m in man/*.[0-9]; do
		[ -f "$m" ] || continue
		mandoc -Tlint -W warning "$m" >/dev/null 2>&1 || {
			mandoc -Tlint -W warning "$m"
			mfail="$mfail $m"
		}
	done
	if [ -z "$mfail" ]; then ok mandoc-lint; else bad mandoc-lint; fi
else
	bad "mandoc-lint (mandoc not installed)"
fi

if [ -f etc/bulwark.conf ] && [ -f man/bulwark.conf.5 ]; then
	missing=""
	# First word of every directive line, section names included.
	for kw in $(sed -e 's/#.*//' etc/bulwark.conf | awk 'NF && $1 !~ /^[{}]$/ && $2 != "=" {print $1}' | sort -u); do
		grep -q "^\.It Ic $kw\b\|^\.Ic $kw\b\|^\.It Ic $kw$\|^\.Ic $kw$" man/bulwark.conf.5 ||
		    grep -q "Ic $kw" man/bulwark.conf.5 || missing="$missing $kw"
	done
	if [ -z "$missing" ]; then ok conf-keywords-documented; else echo "undocumented:$missing"; bad conf-keywords-documented; fi
	if "$BUILD/bulwarkd" -n -f etc/bulwark.conf 2>/dev/null; then
		ok example-config-parses
	else
		"$BUILD/bulwarkd" -n -f etc/bulwark.conf
		bad example-config-parses
	fi
else
	bad "conf-keywords-documented (etc/bulwark.conf or man/bulwark.conf.5 missing)"
fi

echo "lint: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
