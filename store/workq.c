/* SPDX-License-Identifier: ISC */
/*
 * workq.c: a pthread pool whose results return to the libevent loop
 * through loopwake.h (see workq.h).
 */
#include "workq.h"
#include "loopwake.h"
#include "log.h"
#include "xmalloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

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
	struct loopwake		 wake;
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
			loopwake_post(&q->wake);
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
workq_wake_cb(void *arg)
{
	struct workq *q = arg;

	workq_deliver(q);
	if (q->pending == 0 && q->idle_cb != NULL)
		q->idle_cb(q->idle_arg);
}

struct workq *
workq_new(struct event_base *base, unsigned int nthreads, size_t max_jobs)
{
	struct workq *q = xcalloc(1, sizeof(*q));
	unsigned int i;

	q->nthreads = nthreads > 0 ? nthreads : 1;
	q->max_jobs = max_jobs > 0 ? max_jobs : 1;
	pthread_mutex_init(&q->mtx, NULL);
	pthread_cond_init(&q->cond, NULL);
	loopwake_init(&q->wake, base, workq_wake_cb, q);
	q->threads = xcalloc(q->nthreads, sizeof(*q->threads));
	for (i = 0; i < q->nthreads; i++)
		loopwake_thread(&q->threads[i], workq_thread, q, "workq");
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
	loopwake_clear(&q->wake);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->mtx);
	free(q->threads);
	free(q);
}
