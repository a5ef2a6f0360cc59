/* SPDX-License-Identifier: ISC */
/*
 * supervise.c: the process table at run time: slots per kind and instance,
 * spawning, store links, READY, reaping, backoff, draining and shutdown.
 */
#include "supervise.h"
#include "boot.h"
#include "compat.h"
#include "ipc.h"
#include "log.h"
#include "xmalloc.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#define BACKOFF_MIN_MS		250
#define BACKOFF_MAX_MS		60000
#define STABLE_SECS		30	/* alive this long: backoff resets */
#define KIND_MAX		8

enum child_state {
	CHILD_STARTING,
	CHILD_READY,
	CHILD_DRAINING		/* sent SHUTDOWN; not restarted */
};

struct child {
	const struct proc_kind	*kind;
	unsigned		 inst;
	pid_t			 pid;
	enum child_state	 state;
	struct ipc_chan		*chan;
	int			 log_fd;
	struct event		*log_ev;
	struct buf		 logbuf;
	struct buf		 conf;		/* encoded configuration */
	int			 store_peer_fd;	/* end for storaged, undelivered */
	unsigned		 store_gen;	/* storaged generation linked to */
	time_t			 started;
	struct event		*kill_ev;	/* SIGKILL after the grace */
	TAILQ_ENTRY(child)	 entry;
};

struct slot {
	struct child	*child;		/* running instance, or NULL */
	unsigned	 failures;	/* quick deaths in a row */
	struct event	*restart_ev;
	bool		 spawn_on_exit;	/* storaged: start after old exits */
};

static struct {
	struct event_base	*base;
	const struct proc_env	*env;
	TAILQ_HEAD(, child)	 children;
	struct slot		*slots[KIND_MAX];
	unsigned		 nslots[KIND_MAX];
	unsigned		 store_gen;
	bool			 stopping;
	void			(*stopped)(void);
	struct event		*deadline_ev;
} sup;

static void supervise_spawn(size_t kind, unsigned inst);

static size_t
kind_index(const struct proc_kind *k)
{
	return (size_t)(k - proc_kinds);
}

static struct child *
store_child(void)
{
	return sup.nslots[0] > 0 ? sup.slots[0][0].child : NULL;
}

static bool
store_ready(void)
{
	struct child *st = store_child();

	return st != NULL && st->state == CHILD_READY && st->chan != NULL;
}

/* Hands storaged its end of worker w's channel. */
static void
deliver_store_peer(struct child *w)
{
	struct ipc_STORE_PEER_req m = {
		.name = w->kind->name,
		.pid = (uint32_t)w->pid,
	};

	ipc_send(store_child()->chan, IPC_T_STORE_PEER, 0, &m,
	    w->store_peer_fd);
	w->store_peer_fd = -1;
}

/* Send buffer of each end of a worker's channel to storaged. */
#define STORE_LINK_SNDBUF	(2 << 20)

/* A new socketpair for worker w; returns the worker's end. */
static int
store_link(struct child *w)
{
	int sp[2], i, bufsz = STORE_LINK_SNDBUF;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("socketpair");
		return -1;
	}
	/*
	 * Room for a whole reply of the largest kind (a chunk of messages,
	 * IPC_MAX_PAYLOAD) in the socket: with the default (about 200 KiB)
	 * a FETCH went back and forth between the two processes five times
	 * for each.  The kernel caps it at net.core.wmem_max; a smaller one
	 * only costs speed.
	 */
	for (i = 0; i < 2; i++)
		(void)setsockopt(sp[i], SOL_SOCKET, SO_SNDBUF, &bufsz,
		    sizeof(bufsz));
	if (w->store_peer_fd != -1)
		close(w->store_peer_fd);
	w->store_peer_fd = sp[0];
	w->store_gen = sup.store_gen;
	return sp[1];
}

/* storaged is ready: give every worker a channel to it. */
static void
store_link_all(void)
{
	struct child *w;
	int fd;

	TAILQ_FOREACH(w, &sup.children, entry) {
		if (w->kind->is_store || w->chan == NULL)
			continue;
		if (w->store_gen != sup.store_gen) {
			/* Its channel went to a storaged that died. */
			if ((fd = store_link(w)) == -1)
				continue;
			ipc_send(w->chan, IPC_T_STORE_CHANNEL, 0, NULL, fd);
		}
		if (w->store_peer_fd != -1)
			deliver_store_peer(w);
	}
}

static void
child_ready(struct ipc_chan *c, const struct ipc_frame *f, const void *msg,
    void *arg)
{
	struct child *ch = arg;

	(void)c;
	(void)f;
	(void)msg;
	if (ch->state == CHILD_STARTING)
		ch->state = CHILD_READY;
	log_info("%s[%d] ready", ch->kind->name, (int)ch->pid);
	if (ch->kind->is_store && ch->state == CHILD_READY)
		store_link_all();
}

static const struct ipc_handler child_handlers[] = {
	{ IPC_T_READY, child_ready },
	{ 0, NULL }
};

static void
child_chan_closed(struct ipc_chan *c, const char *why, void *arg)
{
	struct child *ch = arg;

	(void)c;
	(void)why;
	ipc_chan_free(&ch->chan);
}

static void
child_log_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *ch = arg;
	uint8_t *nl;
	ssize_t n;

	(void)what;
	buf_reserve(&ch->logbuf, 4096);
	n = read(fd, buf_tail(&ch->logbuf), 4096);
	if (n > 0)
		buf_commit(&ch->logbuf, n);
	while ((nl = memchr(ch->logbuf.data, '\n', ch->logbuf.len)) != NULL) {
		log_relay_line((char *)ch->logbuf.data,
		    nl - ch->logbuf.data);
		buf_consume(&ch->logbuf, nl - ch->logbuf.data + 1);
	}
	if (ch->logbuf.len > 2048 || (n <= 0 && ch->logbuf.len > 0)) {
		log_relay_line((char *)ch->logbuf.data, ch->logbuf.len);
		buf_reset(&ch->logbuf);
	}
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		event_free(ch->log_ev);
		ch->log_ev = NULL;
		close(ch->log_fd);
		ch->log_fd = -1;
	}
}

static void
child_kill_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *ch = arg;

	(void)fd;
	(void)what;
	log_warnx("%s[%d] did not stop in time, killing it",
	    ch->kind->name, (int)ch->pid);
	kill(ch->pid, SIGKILL);
}

/* Sends SHUTDOWN and arms the kill timer; the child leaves its slot. */
static void
child_drain(struct child *ch)
{
	struct ipc_SHUTDOWN_req m = { .grace = SUPERVISE_GRACE };
	struct timeval tv = { SUPERVISE_GRACE + 2, 0 };

	if (ch->state == CHILD_DRAINING)
		return;
	ch->state = CHILD_DRAINING;
	if (ch->chan != NULL)
		ipc_send(ch->chan, IPC_T_SHUTDOWN, 0, &m, -1);
	else
		kill(ch->pid, SIGTERM);
	ch->kill_ev = evtimer_new(sup.base, child_kill_cb, ch);
	evtimer_add(ch->kill_ev, &tv);
	log_debug("%s[%d] draining", ch->kind->name, (int)ch->pid);
}

static void
supervise_spawn(size_t kind, unsigned inst)
{
	const struct proc_kind *k = &proc_kinds[kind];
	struct ipc_chan_params params = {
		.self = IPC_P_MASTER,
		.peer = k->is_store ? IPC_P_STORE : IPC_P_WORKER,
		.name = "bulwarkd",
		.handlers = child_handlers,
		.close_cb = child_chan_closed,
	};
	struct child *ch = xcalloc(1, sizeof(*ch));
	struct proc_fds fds = { -1, -1, -1 };
	int mp[2] = { -1, -1 }, lp[2] = { -1, -1 };
	struct slot *sl = &sup.slots[kind][inst];

	ch->kind = k;
	ch->inst = inst;
	ch->store_peer_fd = -1;
	ch->log_fd = -1;
	if (k->is_store)
		sup.store_gen++;
	proc_conf_encode(&ch->conf, k, inst, sup.env);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, mp) == -1 ||
	    pipe2(lp, O_CLOEXEC) == -1 ||
	    (!k->is_store && (fds.store = store_link(ch)) == -1)) {
		log_warn("%s: cannot create its channels", k->name);
		goto fail;
	}
	fds.master = mp[1];
	fds.log = lp[1];
	if ((ch->pid = proc_spawn(k, inst, sup.env, &fds)) == -1) {
		log_warn("%s: fork", k->name);
		goto fail;
	}
	close(mp[1]);
	close(lp[1]);
	if (fds.store != -1)
		close(fds.store);
	ch->started = time(NULL);
	ch->log_fd = lp[0];
	ch->log_ev = event_new(sup.base, lp[0], EV_READ | EV_PERSIST,
	    child_log_cb, ch);
	event_add(ch->log_ev, NULL);
	params.arg = ch;
	ch->chan = ipc_chan_new(sup.base, mp[0], &params);
	/* HELLO went first; the configuration follows as encoded. */
	ipc_send_encoded(ch->chan, &ch->conf);
	if (!k->is_store && store_ready() && ch->store_gen == sup.store_gen)
		deliver_store_peer(ch);
	TAILQ_INSERT_TAIL(&sup.children, ch, entry);
	sl->child = ch;
	log_debug("%s[%d] started instance=%u", k->name, (int)ch->pid, inst);
	return;
fail:
	if (mp[0] != -1) {
		close(mp[0]);
		close(mp[1]);
	}
	if (lp[0] != -1) {
		close(lp[0]);
		close(lp[1]);
	}
	if (fds.store != -1)
		close(fds.store);
	if (ch->store_peer_fd != -1)
		close(ch->store_peer_fd);
	buf_clear(&ch->conf);
	free(ch);
}

static void
restart_cb(evutil_socket_t fd, short what, void *arg)
{
	struct slot *sl = arg;
	size_t kind;
	unsigned inst;

	(void)fd;
	(void)what;
	for (kind = 0; kind < proc_kinds_n; kind++)
		if (sl >= sup.slots[kind] &&
		    sl < sup.slots[kind] + sup.nslots[kind])
			break;
	inst = (unsigned)(sl - sup.slots[kind]);
	if (!sup.stopping && sl->child == NULL)
		supervise_spawn(kind, inst);
}

/* Arms the slot's restart with exponential backoff. */
static void
schedule_restart(struct slot *sl, time_t lived)
{
	struct timeval tv;
	unsigned ms;

	if (lived >= STABLE_SECS)
		sl->failures = 0;
	ms = BACKOFF_MIN_MS;
	if (sl->failures > 0)
		ms = sl->failures >= 9 ? BACKOFF_MAX_MS :
		    BACKOFF_MIN_MS << sl->failures;
	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	sl->failures++;
	if (sl->restart_ev == NULL)
		sl->restart_ev = evtimer_new(sup.base, restart_cb, sl);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(sl->restart_ev, &tv);
	log_info("restarting in %u.%03u s", ms / 1000, ms % 1000);
}

static void
child_free(struct child *ch)
{
	TAILQ_REMOVE(&sup.children, ch, entry);
	if (ch->log_ev != NULL) {
		/* Drain what the child said last. */
		child_log_cb(ch->log_fd, EV_READ, ch);
		if (ch->log_ev != NULL) {
			event_free(ch->log_ev);
			close(ch->log_fd);
		}
	}
	if (ch->kill_ev != NULL)
		event_free(ch->kill_ev);
	ipc_chan_free(&ch->chan);
	if (ch->store_peer_fd != -1)
		close(ch->store_peer_fd);
	buf_clear(&ch->logbuf);
	buf_clear(&ch->conf);
	free(ch);
}

static void
log_exit(const struct child *ch, int status)
{
	if (WIFEXITED(status))
		log_info("%s[%d] exited status=%d", ch->kind->name,
		    (int)ch->pid, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		log_warnx("%s[%d] killed by signal %d (%s)%s", ch->kind->name,
		    (int)ch->pid, WTERMSIG(status), strsignal(WTERMSIG(status)),
		    WTERMSIG(status) == SIGSYS ?
		    ": system call outside its sandbox" : "");
}

/* Called when the last child may have gone: continues a shutdown. */
static void
shutdown_step(void)
{
	struct child *ch;
	bool workers = false;

	if (!sup.stopping)
		return;
	TAILQ_FOREACH(ch, &sup.children, entry)
		if (!ch->kind->is_store)
			workers = true;
	if (!workers && store_child() != NULL)
		child_drain(store_child());
	if (TAILQ_EMPTY(&sup.children) && sup.stopped != NULL) {
		void (*done)(void) = sup.stopped;

		sup.stopped = NULL;
		done();
	}
}

void
supervise_reap(void)
{
	struct child *ch;
	struct slot *sl;
	pid_t pid;
	int status;
	size_t kind;
	bool was_draining;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		TAILQ_FOREACH(ch, &sup.children, entry)
			if (ch->pid == pid)
				break;
		if (ch == NULL)
			continue;
		log_exit(ch, status);
		kind = kind_index(ch->kind);
		sl = ch->inst < sup.nslots[kind] ?
		    &sup.slots[kind][ch->inst] : NULL;
		was_draining = ch->state == CHILD_DRAINING;
		if (sl != NULL && sl->child == ch)
			sl->child = NULL;
		if (ch->kind->is_store) {
			struct child *w;

			/* Workers' pending ends lead nowhere now. */
			TAILQ_FOREACH(w, &sup.children, entry)
				if (w->store_peer_fd != -1) {
					close(w->store_peer_fd);
					w->store_peer_fd = -1;
				}
		}
		if (sl != NULL && sl->spawn_on_exit && !sup.stopping) {
			sl->spawn_on_exit = false;
			child_free(ch);
			supervise_spawn(kind, (unsigned)(sl - sup.slots[kind]));
			continue;
		}
		if (!was_draining && !sup.stopping && sl != NULL &&
		    sl->child == NULL)
			schedule_restart(sl, time(NULL) - ch->started);
		child_free(ch);
	}
	shutdown_step();
}

/*
 * Grows or shrinks kind's slots to n, draining the children beyond n.
 * Pending restarts are dropped: supervise_apply() starts empty slots now.
 */
static void
resize_slots(size_t kind, unsigned n)
{
	struct slot *sl;
	unsigned i;

	for (i = 0; i < sup.nslots[kind]; i++) {
		sl = &sup.slots[kind][i];
		if (i >= n && sl->child != NULL)
			child_drain(sl->child);
		if (sl->restart_ev != NULL) {
			event_free(sl->restart_ev);
			sl->restart_ev = NULL;
		}
	}
	if (n > sup.nslots[kind]) {
		sup.slots[kind] = xreallocarray(sup.slots[kind], n,
		    sizeof(struct slot));
		memset(sup.slots[kind] + sup.nslots[kind], 0,
		    (n - sup.nslots[kind]) * sizeof(struct slot));
	}
	sup.nslots[kind] = n;
}

void
supervise_apply(void)
{
	struct buf conf = BUF_INIT;
	struct slot *sl;
	size_t kind;
	unsigned n, i;

	for (kind = 0; kind < proc_kinds_n; kind++) {
		n = proc_instances(&proc_kinds[kind], sup.env->conf);
		resize_slots(kind, n);
		for (i = 0; i < n; i++) {
			sl = &sup.slots[kind][i];
			if (sl->child == NULL) {
				if (!sl->spawn_on_exit)
					supervise_spawn(kind, i);
				continue;
			}
			buf_reset(&conf);
			proc_conf_encode(&conf, &proc_kinds[kind], i, sup.env);
			if (conf.len == sl->child->conf.len &&
			    memcmp(conf.data, sl->child->conf.data,
			    conf.len) == 0)
				continue;
			log_info("%s[%d] configuration changed, replacing it",
			    proc_kinds[kind].name, (int)sl->child->pid);
			child_drain(sl->child);
			sl->child = NULL;
			if (proc_kinds[kind].is_store)
				sl->spawn_on_exit = true;
			else
				supervise_spawn(kind, i);
		}
	}
	buf_clear(&conf);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *ch;

	(void)fd;
	(void)what;
	(void)arg;
	TAILQ_FOREACH(ch, &sup.children, entry) {
		log_warnx("%s[%d] still running at shutdown, killing it",
		    ch->kind->name, (int)ch->pid);
		kill(ch->pid, SIGKILL);
	}
}

void
supervise_shutdown(void (*done)(void))
{
	struct timeval tv = { 3 * SUPERVISE_GRACE, 0 };
	struct child *ch;
	size_t kind;
	unsigned i;

	if (sup.stopping)
		return;
	sup.stopping = true;
	sup.stopped = done;
	for (kind = 0; kind < proc_kinds_n; kind++)
		for (i = 0; i < sup.nslots[kind]; i++)
			if (sup.slots[kind][i].restart_ev != NULL)
				evtimer_del(sup.slots[kind][i].restart_ev);
	TAILQ_FOREACH(ch, &sup.children, entry)
		if (!ch->kind->is_store)
			child_drain(ch);
	sup.deadline_ev = evtimer_new(sup.base, deadline_cb, NULL);
	evtimer_add(sup.deadline_ev, &tv);
	shutdown_step();
}

void
supervise_init(struct event_base *base, const struct proc_env *env)
{
	sup.base = base;
	sup.env = env;
	TAILQ_INIT(&sup.children);
}
