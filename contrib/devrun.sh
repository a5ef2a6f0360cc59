#!/bin/sh
# SPDX-License-Identifier: ISC
# devrun.sh BUILD_DIR: what `make run` does.  Sets up a development
# instance in ./run (configuration, data directory, self-signed
# certificate), starts bulwarkd in the foreground from the build tree,
# creates demo@example.org with password "demo", and prints how to connect.
# As root it drops privileges as in production, creating the users _bulwark
# and _bulwarkw if they are missing; as another user it runs without the
# drop and says so.  Ctrl-C stops it.
set -eu
BUILD=${1:-build/rel}
TOP=$(cd "$(dirname "$0")/.." && pwd)
RUN="$TOP/run"
CONF="$RUN/bulwark.conf"

mkdir -p "$RUN"
if [ "$(id -u)" = 0 ]; then
	for u in _bulwark _bulwarkw; do
		id "$u" >/dev/null 2>&1 ||
		    useradd --system --no-create-home --home-dir /nonexistent \
		    --shell /usr/sbin/nologin "$u"
	done
	mkdir -p "$RUN/empty"
	chmod 0755 "$RUN" "$RUN/empty"
else
	# Without root nothing changes user: the user directives do not apply.
	mkdir -p "$RUN/empty"
fi

if [ ! -f "$RUN/cert.pem" ]; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 365 \
	    -keyout "$RUN/key.pem" -out "$RUN/cert.pem" -subj "/CN=localhost" \
	    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
	chmod 0600 "$RUN/key.pem"
fi

cat >"$CONF" <<CONF
# Development instance written by contrib/devrun.sh (make run); loopback only.
lo = "127.0.0.1"
hostname "localhost"
data-dir "$RUN/data"
run-dir "$RUN"
pidfile "$RUN/bulwarkd.pid"
chroot "$RUN/empty"
user "_bulwark"
worker-user "_bulwarkw"
admin socket "$RUN/admin.sock"
tls certificate "$RUN/cert.pem"
tls key "$RUN/key.pem"

listen imap on \$lo port 10143
listen imap on \$lo port 10993 tls
listen lmtp on \$lo port 10024
listen lmtp socket "$RUN/lmtp.sock" mode 0666
listen http on \$lo port 18080
listen sieve on \$lo port 14190

imap {
	workers 2
	cleartext-auth yes	# loopback development only
}
http {
	workers 1
	cleartext-auth yes	# loopback development only
}
CONF

CTL="$TOP/$BUILD/bulwarkctl -f $CONF"
"$TOP/$BUILD/bulwarkd" -n -f "$CONF"
"$TOP/$BUILD/bulwarkd" -d -f "$CONF" -X "$TOP/$BUILD" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid; exit 0' INT TERM

i=0
until $CTL domain list >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 300 ] || ! kill -0 $pid 2>/dev/null; then
		echo "devrun: bulwarkd did not come up" >&2
		kill -TERM $pid 2>/dev/null || true
		exit 1
	fi
	sleep 0.1
done
$CTL domain list | grep -qx example.org || $CTL domain add example.org
$CTL account list example.org | grep -qx demo@example.org ||
    echo demo | $CTL account add demo@example.org

cat <<INFO

Bulwark is running (pid $pid) from $BUILD with its data in run/.
  IMAP      127.0.0.1:10143 (STARTTLS; cleartext login allowed on loopback)
  IMAPS     127.0.0.1:10993 (self-signed certificate run/cert.pem)
  LMTP      127.0.0.1:10024 and run/lmtp.sock (for an MTA such as Postfix)
  JMAP      http://127.0.0.1:18080/.well-known/jmap (Basic auth in clear on loopback)
  account   demo@example.org, password demo
  try       curl -k imaps://127.0.0.1:10993/ -u demo@example.org:demo -X NOOP -v
            openssl s_client -quiet -connect 127.0.0.1:10993
            swaks --protocol LMTP --server 127.0.0.1:10024 --to demo@example.org
            curl -L -u demo@example.org:demo http://127.0.0.1:18080/.well-known/jmap
  admin     $BUILD/bulwarkctl -f run/bulwark.conf message list demo@example.org
The ManageSieve listener is configured but not opened until its worker
exists.  Ctrl-C stops the server.

INFO
wait $pid
