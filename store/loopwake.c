/* SPDX-License-Identifier: ISC */
/*
 * loopwake.c: the pipe that wakes storaged's loop for its threads, and
 * thread start with signals blocked (see loopwake.h).
 */
#include "loopwake.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

struct loopwake_cb {
	void	(*fn)(void *);
	void	*arg;
};

static void
loopwake_read_cb(evutil_socket_t fd, short what, void *arg)
{
	const struct loopwake_cb *cb = arg;
	char b[64];

	(void)what;
	while (read(fd, b, sizeof(b)) > 0)
		;
	cb->fn(cb->arg);
}

void
loopwake_init(struct loopwake *lw, struct event_base *base,
    void (*fn)(void *), void *arg)
{
	struct loopwake_cb *cb;

	if (pipe2(lw->pipe, O_NONBLOCK | O_CLOEXEC) == -1)
		fatal("loopwake: pipe2");
	if ((cb = malloc(sizeof(*cb))) == NULL)
		fatal("loopwake: malloc");
	cb->fn = fn;
	cb->arg = arg;
	lw->ev = event_new(base, lw->pipe[0], EV_READ | EV_PERSIST,
	    loopwake_read_cb, cb);
	if (lw->ev == NULL || event_add(lw->ev, NULL) == -1)
		fatalx("loopwake: event_new");
}

void
loopwake_post(struct loopwake *lw)
{
	(void)!write(lw->pipe[1], "", 1);
}

void
loopwake_clear(struct loopwake *lw)
{
	if (lw->ev == NULL)
		return;
	free(event_get_callback_arg(lw->ev));
	event_free(lw->ev);
	close(lw->pipe[0]);
	close(lw->pipe[1]);
	lw->ev = NULL;
}

void
loopwake_thread(pthread_t *t, void *(*fn)(void *), void *arg,
    const char *what)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		fatal("%s: pthread_create", what);
	}
}
