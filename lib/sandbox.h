/* SPDX-License-Identifier: ISC */
/*
 * sandbox.h: a system call filter per kind of process.  On Linux this is a
 * seccomp filter built with libseccomp; a call outside the profile kills the
 * process with SIGSYS, which the master logs.  Elsewhere it does nothing yet
 * (pledge and unveil on OpenBSD are to come).
 */
#ifndef BULWARK_SANDBOX_H
#define BULWARK_SANDBOX_H

enum sandbox_profile {
	SANDBOX_NONE,
	/*
	 * A network worker after its privilege drop: sockets it was given
	 * or accepts, memory, time, randomness; no file system, no new
	 * sockets, no exec.
	 */
	SANDBOX_NETWORK,
	/* storaged: as above plus file I/O and mmap inside its chroot. */
	SANDBOX_STORE,
	/*
	 * lmtpd: SANDBOX_NETWORK plus UDP sockets, for the DNS queries of
	 * its JMAP push client (workers/lmtpd/lmtp_push.c); imapd and jmapd
	 * keep the narrower profile.
	 */
	SANDBOX_OUTBOUND
};

/* Installs the filter of profile p for this process and its threads. */
void	sandbox_apply(enum sandbox_profile p);

#endif
