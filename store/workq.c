/* SPDX-License-Identifier: ISC */
/*
 * workq.c: a pthread pool whose results return to the libevent loop
 * through a non-blocking pipe (see workq.h).  A pipe rather than eventfd
 * keeps it portable; one byte is written only when the done list goes from
 * empty to not empty, so the pipe never fills.
 */
#include "workq.h"
#include "log.h"
#include "xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

struct workq_job {
	workq_work_fn		*work;
	workq_done_fn		*done;
	void			*arg;
	struct workq_job	*next;
};

/* A FIFO of jobs. */
struct workq_list {
	struct workq_job	*head, *tail;
};

struct workq {
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	struct workq_list	 todo, done;
	bool			 stop;
	pthread_t		*threads;
	unsigned int		 nthreads;
	size_t			 pending, max_jobs;
	int			 pipe[2];
	struct event		*ev;
	void			(*idle_cb)(void *);
	void			*idle_arg;
};

static void
workq_list_push(struct workq_list *l, struct workq_job *j)
{
	j->next = NULL;
	if (l->tail != NULL)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
}

static struct workq_job *
workq_list_pop(struct workq_list *l)
{
	struct workq_job *j = l->head;

	if (j != NULL && (l->head = j->next) == NULL)
		l->tail = NULL;
	return j;
}

static void *
workq_thread(void *arg)
{
	struct workq *q = arg;
	struct workq_job *j;
	bool wake;

	pthread_mutex_lock(&q->mtx);
	for (;;) {
		while (!q->stop && q->todo.head == NULL)
			pthread_cond_wait(&q->cond, &q->mtx);
		if (q->stop)
			break;
		j = workq_list_pop(&q->todo);
		pthread_mutex_unlock(&q->mtx);
		j->work(j->arg);
		pthread_mutex_lock(&q->mtx);
		wake = q->done.head == NULL;
		workq_list_push(&q->done, j);
		if (wake)
			(void)!write(q->pipe[1], "", 1);
	}
	pthread_mutex_unlock(&q->mtx);
	return NULL;
}

/* Runs the done functions of the finished jobs, on the loop. */
static void
workq_deliver(struct workq *q)
{
	struct workq_list l;
	struct workq_job *j;

	pthread_mutex_lock(&q->mtx);
	l = q->done;
	memset(&q->done, 0, sizeof(q->done));
	pthread_mutex_unlock(&q->mtx);
	while ((j = workq_list_pop(&l)) != NULL) {
		q->pending--;
		j->done(j->arg, false);
		free(j);
	}
}

static void
workq_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct workq *q = arg;
	char b[64];

	(void)what;
	while (read(fd, b, sizeof(b)) > 0)
		;
	workq_deliver(q);
	if (q->pending == 0 && q->idle_cb != NULL)
		q->idle_cb(q->idle_arg);
}

static void
workq_start(struct workq *q)
{
	sigset_t all, old;
	unsigned int i;
	int rc;

	/* Signals are the loop thread's business. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < q->nthreads; i++)
		if ((rc = pthread_create(&q->threads[i], NULL, workq_thread,
		    q)) != 0) {
			errno = rc;
			fatal("workq: pthread_create");
		}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

struct workq *
workq_new(struct event_base *base, unsigned int nthreads, size_t max_jobs)
{
	struct workq *q = xcalloc(1, sizeof(*q));

	q->nthreads = nthreads > 0 ? nthreads : 1;
	q->max_jobs = max_jobs > 0 ? max_jobs : 1;
	pthread_mutex_init(&q->mtx, NULL);
	pthread_cond_init(&q->cond, NULL);
	if (pipe2(q->pipe, O_NONBLOCK | O_CLOEXEC) == -1)
		fatal("workq: pipe2");
	q->ev = event_new(base, q->pipe[0], EV_READ | EV_PERSIST,
	    workq_read_cb, q);
	if (q->ev == NULL || event_add(q->ev, NULL) == -1)
		fatalx("workq: event_new");
	q->threads = xcalloc(q->nthreads, sizeof(*q->threads));
	workq_start(q);
	return q;
}

int
workq_submit(struct workq *q, workq_work_fn *work, workq_done_fn *done,
    void *arg)
{
	struct workq_job *j;

	if (q->pending >= q->max_jobs)
		return -1;
	j = xmalloc(sizeof(*j));
	j->work = work;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&q->mtx);
	workq_list_push(&q->todo, j);
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->mtx);
	q->pending++;
	return 0;
}

size_t
workq_pending(const struct workq *q)
{
	return q->pending;
}

void
workq_set_idle_cb(struct workq *q, void (*fn)(void *), void *arg)
{
	q->idle_cb = fn;
	q->idle_arg = arg;
}

void
workq_free(struct workq **qp)
{
	struct workq *q = *qp;
	struct workq_job *j;
	unsigned int i;

	*qp = NULL;
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mtx);
	q->stop = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->mtx);
	for (i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	workq_deliver(q);
	while ((j = workq_list_pop(&q->todo)) != NULL) {
		j->done(j->arg, true);
		free(j);
	}
	event_free(q->ev);
	close(q->pipe[0]);
	close(q->pipe[1]);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->mtx);
	free(q->threads);
	free(q);
}
