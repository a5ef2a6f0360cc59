#!/bin/sh
# SPDX-License-Identifier: ISC
# create-users.sh: creates the system users bulwarkd runs its children as,
# for packaging and hand installs: _bulwark (storaged, owns the data
# directory) and _bulwarkw (network workers, may not read the data).
set -e
for u in _bulwark _bulwarkw; do
	id "$u" >/dev/null 2>&1 && continue
	if command -v useradd >/dev/null 2>&1; then
		useradd --system --no-create-home --home-dir /nonexistent \
		    --shell /usr/sbin/nologin "$u"
	else	# OpenBSD
		useradd -L daemon -c "Bulwark" -d /var/empty -s /sbin/nologin "$u"
	fi
done
