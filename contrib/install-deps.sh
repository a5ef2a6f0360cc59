#!/bin/sh
# SPDX-License-Identifier: ISC
# install-deps.sh: installs what Bulwark needs to build and test on Debian.
# Run as root it calls apt-get; as another user it prints the command and
# fails.  The Makefile runs it when configure finds something missing, and
# .ci/run runs it first.  Then it installs the npm packages of
# tests/jmap-jam (the JMAP client library a test drives jmapd with) from
# their package-lock.json, unless they are there already.
set -e
ROOT=$(cd "$(dirname "$0")/.." && pwd)

# npm ci of tests/jmap-jam when its node_modules is missing or older than
# the lock file.  A failure stops here, as apt-get's does: a test suite
# that skipped the client library would pass without testing it.
jam_deps() {
	jam="$ROOT/tests/jmap-jam"
	stamp="$jam/node_modules/.package-lock.json"
	[ -f "$stamp" ] && [ ! "$jam/package-lock.json" -nt "$stamp" ] &&
	    return 0
	command -v npm >/dev/null 2>&1 || return 0
	if ! npm ci --prefix "$jam" --no-audit --no-fund --loglevel=error \
	    >/dev/null; then
		echo "install-deps: npm ci in tests/jmap-jam failed" >&2
		exit 1
	fi
}

BUILD="build-essential autoconf pkg-config libssl-dev liblmdb-dev
 libyajl-dev libevent-dev libpcre2-dev libstemmer-dev libsodium-dev
 libseccomp-dev zlib1g-dev libunistring-dev"
TEST="python3 openssl clang libclang-rt-dev mandoc procps lmdb-utils postfix
 swaks dovecot-imapd isync neomutt tmux curl python3-websockets nodejs npm
 python3-dkim python3-aiosmtpd python3-cryptography"

pkgs=$(echo $BUILD $TEST)
missing=""
for p in $pkgs; do
	# Node may come from elsewhere (NodeSource's nodejs carries its own
	# npm, which Debian's npm package would conflict with): a command on
	# the PATH will do for these two.
	case $p in
	nodejs)	command -v node >/dev/null 2>&1 && continue ;;
	npm)	command -v npm >/dev/null 2>&1 && continue ;;
	esac
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
if [ -z "$missing" ]; then
	jam_deps
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "bulwark needs these Debian packages; as root run:" >&2
	echo "    apt-get install -y$missing" >&2
	exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || true
apt-get install -y -qq --no-install-recommends $missing >/dev/null

# Dovecot is a peer the tests compare against (they start their own
# instance on a loopback port): the system service its package starts is
# stopped and disabled, but only when it was installed just now.
case " $missing " in
*" dovecot-imapd "*)
	(systemctl disable --now dovecot.service ||
	    service dovecot stop) >/dev/null 2>&1 || true
	;;
esac

jam_deps
