/* SPDX-License-Identifier: ISC */
/*
 * bench_ipc.c: request/reply round trips per second between worker
 * processes and a real storaged over the real channel.
 *
 * The benchmark plays the master: it execs storaged with the descriptor plan
 * of lib/boot.h on a fresh data directory, creates an account through the
 * admin socket, then forks W worker processes, each with its own channel to
 * storaged (STORE_PEER), each logging in once (AUTH) and then sending
 * SESSION_INFO, the cheap authenticated read every protocol command will
 * make, one at a time (latency-bound) and then with 32 in flight, as a
 * worker serving many clients has.  A raw socketpair ping-pong between two
 * processes is measured first: it is the floor that one request in flight
 * cannot beat on this machine.
 *
 * usage: bench_ipc STORAGED [SECONDS]
 */
#include "boot.h"
#include "compat.h"
#include "ipc.h"
#include "log.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#define BENCH_USER	"bench@example.org"
#define BENCH_PASS	"bench-password"

static struct {
	const char	*storaged;
	double		 seconds;
	char		 dir[64];
	char		 sock[128];
	pid_t		 pid;
	int		 master;
} bench;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sends one request on a blocking socket and waits for its reply. */
static enum ipc_status
call_blocking(int fd, struct ipc_rx *rx, uint16_t type, uint64_t session,
    const void *req)
{
	struct buf out = BUF_INIT;
	struct ipc_frame f;
	struct wire_reader r;
	const char *emsg;
	uint32_t st = IPC_S_INTERNAL;

	ipc_encode(&out, type, 0, 1, session, req);
	if (ipc_write_blocking(fd, &out, -1) == -1)
		err(1, "write");
	buf_clear(&out);
	if (ipc_rx_read_blocking(rx, fd, &f, &emsg) != 1)
		errx(1, "reading reply: %s", emsg);
	wire_reader_init(&r, f.data, f.len);
	wire_get_U32(&r, &st);
	return st;
}

static void
hello_blocking(int fd, struct ipc_rx *rx, uint32_t self)
{
	struct ipc_HELLO_req h = { IPC_VERSION_MAJOR, IPC_VERSION_MINOR, self,
	    "bench" };
	struct buf out = BUF_INIT;
	struct ipc_frame f;
	const char *emsg;

	ipc_encode(&out, IPC_T_HELLO, 0, 0, 0, &h);
	if (ipc_write_blocking(fd, &out, -1) == -1)
		err(1, "hello");
	buf_clear(&out);
	if (ipc_rx_read_blocking(rx, fd, &f, &emsg) != 1 ||
	    f.type != IPC_T_HELLO)
		errx(1, "no hello from storaged");
}

static void
start_storaged(void)
{
	struct sockaddr_un sun;
	struct buf out = BUF_INIT;
	struct ipc_rx rx;
	struct ipc_frame f;
	const char *emsg;
	int sp[2], lsock, null;
	struct ipc_HELLO_req h = { IPC_VERSION_MAJOR, IPC_VERSION_MINOR,
	    IPC_P_MASTER, "bench" };
	struct ipc_CONF_PROC_req p = { .name = "storaged", .uid = getuid(),
	    .gid = getgid(), .chroot = "", .drop = false, .sandbox = true };
	struct ipc_CONF_LISTENER_req l = { .fd = BOOT_FD_LISTEN,
	    .proto = "admin", .addr = bench.sock };
	struct ipc_CONF_STORE_req s = { .datadir = bench.dir,
	    .map_size = 64 << 20, .admin_gid = UINT32_MAX,
	    .auth_fail_limit = 100, .auth_fail_window = 60,
	    .auth_block_time = 60, .auth_threads = 1 };

	strlcpy(bench.dir, "/tmp/bench-ipc.XXXXXX", sizeof(bench.dir));
	if (mkdtemp(bench.dir) == NULL)
		err(1, "mkdtemp");
	snprintf(bench.sock, sizeof(bench.sock), "%s/admin.sock", bench.dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, bench.sock, sizeof(sun.sun_path));
	if ((lsock = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(lsock, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(lsock, 16) == -1)
		err(1, "admin socket");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1)
		err(1, "socketpair");
	if ((bench.pid = fork()) == -1)
		err(1, "fork");
	if (bench.pid == 0) {
		char *argv[] = { "storaged", NULL }, *envp[] = { NULL };

		/* Stage above the targets so that no dup2 clobbers another. */
		null = open("/dev/null", O_RDWR);
		sp[1] = fcntl(sp[1], F_DUPFD, 20);
		lsock = fcntl(lsock, F_DUPFD, 20);
		dup2(null, 0);
		dup2(null, 1);
		dup2(sp[1], BOOT_FD_MASTER);
		dup2(null, BOOT_FD_STORE);
		dup2(lsock, BOOT_FD_LISTEN);
		closefrom(BOOT_FD_LISTEN + 1);
		execve(bench.storaged, argv, envp);
		_exit(127);
	}
	close(sp[1]);
	close(lsock);
	bench.master = sp[0];
	ipc_encode(&out, IPC_T_HELLO, 0, 0, 0, &h);
	ipc_encode(&out, IPC_T_CONF_PROC, 0, 0, 0, &p);
	ipc_encode(&out, IPC_T_CONF_LISTENER, 0, 0, 0, &l);
	ipc_encode(&out, IPC_T_CONF_STORE, 0, 0, 0, &s);
	ipc_encode(&out, IPC_T_CONF_END, 0, 0, 0, NULL);
	if (ipc_write_blocking(bench.master, &out, -1) == -1)
		err(1, "configure storaged");
	buf_clear(&out);
	ipc_rx_init(&rx);
	do {
		if (ipc_rx_read_blocking(&rx, bench.master, &f, &emsg) != 1)
			errx(1, "storaged did not start: %s", emsg);
	} while (f.type != IPC_T_READY);
	ipc_rx_clear(&rx);
}

static void
create_account(void)
{
	struct sockaddr_un sun;
	struct ipc_rx rx;
	int fd;
	struct ipc_DOMAIN_ADD_req d = { "example.org" };
	struct ipc_ACCOUNT_ADD_req a = { BENCH_USER, BENCH_PASS, 0, 0 };

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, bench.sock, sizeof(sun.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err(1, "connect admin socket");
	ipc_rx_init(&rx);
	hello_blocking(fd, &rx, IPC_P_CTL);
	if (call_blocking(fd, &rx, IPC_T_DOMAIN_ADD, 0, &d) != IPC_S_OK ||
	    call_blocking(fd, &rx, IPC_T_ACCOUNT_ADD, 0, &a) != IPC_S_OK)
		errx(1, "cannot create the bench account");
	ipc_rx_clear(&rx);
	close(fd);
}

/* --- A worker process --- */

struct worker {
	struct event_base	*base;
	struct ipc_chan		*chan;
	uint64_t		 session;
	unsigned long		 done;
	unsigned		 inflight, window;
	double			 deadline;
	bool			 stop, failed;
};

static void info_cb(struct ipc_chan *, enum ipc_status, const char *,
    const void *, void *);

static void
send_info(struct worker *w)
{
	w->inflight++;
	ipc_request(w->chan, IPC_T_SESSION_INFO, w->session, NULL, info_cb, w);
}

static void
info_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	struct worker *w = arg;

	(void)c;
	(void)text;
	(void)rep;
	w->inflight--;
	if (st != IPC_S_OK) {
		w->failed = true;
		event_base_loopbreak(w->base);
		return;
	}
	w->done++;
	if ((w->done & 255) == 0 && now() >= w->deadline)
		w->stop = true;
	if (!w->stop)
		send_info(w);
	else if (w->inflight == 0)
		event_base_loopbreak(w->base);
}

static void
auth_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	struct worker *w = arg;

	(void)c;
	(void)rep;
	if (st != IPC_S_OK)
		errx(1, "bench login failed: %s", text);
	event_base_loopbreak(w->base);
}

static void
worker_closed(struct ipc_chan *c, const char *why, void *arg)
{
	(void)c;
	errx(1, "worker channel closed: %s", why);
	(void)arg;
}

/* Runs in a child: logs in, then measures both modes; writes results. */
static void __attribute__((noreturn))
worker_main(int fd, int out, unsigned id)
{
	struct worker w;
	struct ipc_chan_params p = { .self = IPC_P_WORKER,
	    .peer = IPC_P_STORE, .name = "bench", .close_cb = worker_closed };
	struct ipc_SESSION_OPEN_req o = { "bench", "127.0.0.1:1", "127.0.0.1:2",
	    true };
	struct ipc_AUTH_req a = { "PLAIN", "", BENCH_USER, BENCH_PASS };
	unsigned long res[2];
	unsigned mode, i;
	double t0;

	memset(&w, 0, sizeof(w));
	w.base = event_base_new();
	p.arg = &w;
	w.chan = ipc_chan_new(w.base, fd, &p);
	w.session = 0x1000 + id;
	ipc_send(w.chan, IPC_T_SESSION_OPEN, w.session, &o, -1);
	ipc_request(w.chan, IPC_T_AUTH, w.session, &a, auth_cb, &w);
	event_base_dispatch(w.base);
	for (mode = 0; mode < 2; mode++) {
		w.window = mode == 0 ? 1 : 32;
		w.done = 0;
		w.stop = false;
		t0 = now();
		w.deadline = t0 + bench.seconds;
		for (i = 0; i < w.window; i++)
			send_info(&w);
		event_base_dispatch(w.base);
		if (w.failed)
			errx(1, "session_info failed");
		res[mode] = (unsigned long)(w.done / (now() - t0));
	}
	if (write(out, res, sizeof(res)) != sizeof(res))
		_exit(1);
	_exit(0);
}

static void
run(unsigned nworkers, unsigned long rate_r[2])
{
	struct ipc_STORE_PEER_req peer = { "bench", 0 };
	struct buf out = BUF_INIT;
	unsigned long res[2];
	int sp[2], rp[2];
	unsigned i;
	pid_t pid, pids[64];

	if (nworkers > 64)
		errx(1, "at most 64 workers");
	if (pipe(rp) == -1)
		err(1, "pipe");
	rate_r[0] = rate_r[1] = 0;
	for (i = 0; i < nworkers; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1)
			err(1, "socketpair");
		buf_reset(&out);
		ipc_encode(&out, IPC_T_STORE_PEER, IPC_F_FD, 0, 0, &peer);
		if (ipc_write_blocking(bench.master, &out, sp[0]) == -1)
			err(1, "store_peer");
		close(sp[0]);
		if ((pid = fork()) == -1)
			err(1, "fork");
		if (pid == 0) {
			close(rp[0]);
			worker_main(sp[1], rp[1], nworkers * 100 + i);
		}
		pids[i] = pid;
		close(sp[1]);
	}
	close(rp[1]);
	for (i = 0; i < nworkers; i++) {
		if (read(rp[0], res, sizeof(res)) != sizeof(res))
			errx(1, "a worker failed");
		rate_r[0] += res[0];
		rate_r[1] += res[1];
	}
	close(rp[0]);
	for (i = 0; i < nworkers; i++)
		waitpid(pids[i], NULL, 0);
	buf_clear(&out);
}

/*
 * The floor for one request in flight on this machine: two processes
 * passing 20 bytes back and forth on a blocking socketpair, no framing, no
 * event loop.  Its rate is set by how fast the kernel wakes the other side.
 */
static unsigned long
baseline_pingpong(void)
{
	char msg[IPC_HDR_SIZE] = { 0 };
	unsigned long n = 0;
	double t0, end;
	int sp[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1)
		err(1, "socketpair");
	if ((pid = fork()) == -1)
		err(1, "fork");
	if (pid == 0) {
		close(sp[0]);
		while (read(sp[1], msg, sizeof(msg)) == sizeof(msg))
			if (write(sp[1], msg, sizeof(msg)) != sizeof(msg))
				break;
		_exit(0);
	}
	close(sp[1]);
	t0 = now();
	end = t0 + bench.seconds;
	do {
		if (write(sp[0], msg, sizeof(msg)) != sizeof(msg) ||
		    read(sp[0], msg, sizeof(msg)) != sizeof(msg))
			err(1, "ping-pong");
		n++;
	} while ((n & 255) != 0 || now() < end);
	close(sp[0]);
	waitpid(pid, NULL, 0);
	return (unsigned long)(n / (now() - t0));
}

int
main(int argc, char **argv)
{
	unsigned long r1[2], r4[2], floor;
	char cmd[128];

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: bench_ipc STORAGED [SECONDS]\n");
		return 2;
	}
	bench.storaged = argv[1];
	bench.seconds = argc == 3 ? atof(argv[2]) : 3.0;
	log_init("bench_ipc", LOG_DEST_STDERR, 0);
	signal(SIGPIPE, SIG_IGN);
	start_storaged();
	create_account();
	floor = baseline_pingpong();
	run(1, r1);
	run(4, r4);
	printf("raw socketpair ping-pong (floor for 1 in flight): %lu\n", floor);
	printf("ipc round trips/s, 1 worker, 1 in flight:   %lu (%.0f%% of "
	    "the floor)\n", r1[0], 100.0 * r1[0] / floor);
	printf("ipc round trips/s, 1 worker, 32 in flight:  %lu\n", r1[1]);
	printf("ipc round trips/s, 4 workers, 1 in flight:  %lu\n", r4[0]);
	printf("ipc round trips/s, 4 workers, 32 in flight: %lu\n", r4[1]);
	close(bench.master);
	kill(bench.pid, SIGTERM);
	waitpid(bench.pid, NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", bench.dir);
	return system(cmd) == 0 ? 0 : 1;
}
