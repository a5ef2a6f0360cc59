#!/bin/sh
# SPDX-License-Identifier: ISC
# install-deps.sh: installs what Bulwark needs to build and test on Debian.
# Run as root it calls apt-get; as another user it prints the command and
# fails.  The Makefile runs it when configure finds something missing, and
# .ci/run runs it first.
set -e

BUILD="build-essential autoconf pkg-config libssl-dev liblmdb-dev
 libyajl-dev libevent-dev libpcre2-dev libstemmer-dev libsodium-dev
 libseccomp-dev zlib1g-dev libunistring-dev"
TEST="python3 openssl clang libclang-rt-dev mandoc procps lmdb-utils postfix
 swaks dovecot-imapd isync neomutt tmux curl python3-websockets"

pkgs=$(echo $BUILD $TEST)
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0

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
