/* SPDX-License-Identifier: ISC */
/*
 * sandbox_linux.c: seccomp allow lists (libseccomp) for the profiles of
 * sandbox.h.  The lists are what libc, libevent, OpenSSL and LMDB call in
 * steady state; startup work (reading configuration, loading keys) happens
 * before the filter goes on.
 */
#include "sandbox.h"
#include "log.h"

#ifdef HAVE_SECCOMP

#include <sys/socket.h>

#include <errno.h>
#include <seccomp.h>
#include <string.h>
#include <stddef.h>

static const int sandbox_common[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(recvfrom),
	SCMP_SYS(sendto), SCMP_SYS(close), SCMP_SYS(shutdown),
	SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(getsockopt),
	SCMP_SYS(setsockopt), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	SCMP_SYS(fcntl), SCMP_SYS(ioctl), SCMP_SYS(pipe2),
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait), SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(eventfd2), SCMP_SYS(timerfd_create),
	SCMP_SYS(timerfd_settime), SCMP_SYS(clock_gettime),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday),
	SCMP_SYS(time), SCMP_SYS(getrandom), SCMP_SYS(brk), SCMP_SYS(mmap),
	SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	SCMP_SYS(mprotect), SCMP_SYS(futex), SCMP_SYS(getpid),
	SCMP_SYS(gettid), SCMP_SYS(getuid), SCMP_SYS(geteuid),
	SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(rt_sigaction),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(restart_syscall),
	SCMP_SYS(sched_yield), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(lseek), SCMP_SYS(uname), SCMP_SYS(sysinfo),
	SCMP_SYS(rseq), SCMP_SYS(set_robust_list), SCMP_SYS(getrusage),
	SCMP_SYS(prlimit64), SCMP_SYS(tgkill), SCMP_SYS(kill),
};

/* storaged: LMDB, its thread pool and the files in its data directory. */
static const int sandbox_store[] = {
	SCMP_SYS(openat), SCMP_SYS(open), SCMP_SYS(pread64),
	SCMP_SYS(pwrite64), SCMP_SYS(pwritev), SCMP_SYS(preadv),
	SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(msync),
	SCMP_SYS(ftruncate), SCMP_SYS(fallocate), SCMP_SYS(flock),
	SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(rename),
	SCMP_SYS(renameat), SCMP_SYS(mkdir), SCMP_SYS(mkdirat),
	SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(statx), SCMP_SYS(access),
	SCMP_SYS(faccessat), SCMP_SYS(getdents64), SCMP_SYS(clone),
	SCMP_SYS(clone3), SCMP_SYS(set_tid_address), SCMP_SYS(socketpair),
	SCMP_SYS(sched_getaffinity), SCMP_SYS(fadvise64), SCMP_SYS(fstatfs),
	SCMP_SYS(statfs), SCMP_SYS(sync_file_range),
};

/*
 * Network workers: lmtpd spools each message into a memfd, copies it for
 * each further recipient and hands the memfds to storaged; imapd spools
 * APPEND's messages the same way (pwrite at the spool's end), and has
 * storaged copy a large message it serves into a memfd it keeps one
 * descriptor of (dup), which it sends from with sendfile.
 */
static const int sandbox_network[] = {
	SCMP_SYS(memfd_create), SCMP_SYS(copy_file_range), SCMP_SYS(pread64),
	SCMP_SYS(pwrite64), SCMP_SYS(dup), SCMP_SYS(sendfile),
	/*
	 * lmtpd's relay connects to the smarthost (workers/lmtpd/
	 * lmtp_relay.c) on an address the master resolved; socket(2) is
	 * allowed below for TCP over IPv4 and IPv6 only.
	 */
	SCMP_SYS(connect),
};

/* The type bits of socket(2)'s second argument, without its flags. */
#define SANDBOX_SOCK_TYPE	0xf

/* socket(2) for TCP over IPv4 and IPv6: the relay's outbound connections. */
static void
sandbox_allow_tcp(scmp_filter_ctx ctx)
{
	static const int families[] = { AF_INET, AF_INET6 };
	size_t i;
	int r;

	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
		    SCMP_SYS(socket), 2, SCMP_A0(SCMP_CMP_EQ,
		    (scmp_datum_t)families[i]), SCMP_A1(SCMP_CMP_MASKED_EQ,
		    SANDBOX_SOCK_TYPE, SOCK_STREAM))) < 0)
			fatalx("seccomp_rule_add socket: %s", strerror(-r));
}

/* socket(2) for UDP over IPv4 and IPv6: lmtpd's DNS queries (evdns). */
static void
sandbox_allow_udp(scmp_filter_ctx ctx)
{
	static const int families[] = { AF_INET, AF_INET6 };
	size_t i;
	int r;

	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
		    SCMP_SYS(socket), 2, SCMP_A0(SCMP_CMP_EQ,
		    (scmp_datum_t)families[i]), SCMP_A1(SCMP_CMP_MASKED_EQ,
		    SANDBOX_SOCK_TYPE, SOCK_DGRAM))) < 0)
			fatalx("seccomp_rule_add socket: %s", strerror(-r));
}

#ifdef BULWARK_SANITIZE
/* What AddressSanitizer and UBSan call to report and symbolize. */
static const int sandbox_sanitizer[] = {
	SCMP_SYS(openat), SCMP_SYS(open), SCMP_SYS(readlink),
	SCMP_SYS(readlinkat), SCMP_SYS(pread64), SCMP_SYS(getppid),
	SCMP_SYS(prctl), SCMP_SYS(sched_getaffinity), SCMP_SYS(clone),
	SCMP_SYS(wait4), SCMP_SYS(ptrace), SCMP_SYS(execve), SCMP_SYS(dup2),
	SCMP_SYS(pipe), SCMP_SYS(stat), SCMP_SYS(getdents64),
	SCMP_SYS(getdents),
};
#endif

static void
sandbox_allow(scmp_filter_ctx ctx, const int *calls, size_t n)
{
	size_t i;
	int r;

	for (i = 0; i < n; i++)
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0)) < 0)
			fatalx("seccomp_rule_add %d: %s", calls[i],
			    strerror(-r));
}

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

void
sandbox_apply(enum sandbox_profile p)
{
	scmp_filter_ctx ctx;
	int r;

	if (p == SANDBOX_NONE)
		return;
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		fatalx("seccomp_init");
	sandbox_allow(ctx, sandbox_common, NELEM(sandbox_common));
	if (p == SANDBOX_STORE)
		sandbox_allow(ctx, sandbox_store, NELEM(sandbox_store));
	if (p == SANDBOX_NETWORK || p == SANDBOX_OUTBOUND) {
		sandbox_allow(ctx, sandbox_network, NELEM(sandbox_network));
		sandbox_allow_tcp(ctx);
	}
	if (p == SANDBOX_OUTBOUND)
		sandbox_allow_udp(ctx);
#ifdef BULWARK_SANITIZE
	sandbox_allow(ctx, sandbox_sanitizer, NELEM(sandbox_sanitizer));
#endif
	if ((r = seccomp_load(ctx)) < 0)
		fatalx("seccomp_load: %s", strerror(-r));
	seccomp_release(ctx);
	log_debug("sandbox on profile=%s",
	    p == SANDBOX_STORE ? "store" : p == SANDBOX_OUTBOUND ? "outbound" :
	    "network");
}

#else /* !HAVE_SECCOMP */

void
sandbox_apply(enum sandbox_profile p)
{
	if (p != SANDBOX_NONE)
		log_debug("sandbox: no system call filter on this system");
}

#endif
