/* SPDX-License-Identifier: ISC */
/*
 * readpool.c: fork-join over a few pthreads (see readpool.h).  Parts are
 * taken from a shared counter by the pool's threads and by the caller
 * alike, so a read never waits for a thread that the kernel has not
 * scheduled yet: the caller takes what is left.
 */
#include "readpool.h"
#include "log.h"
#include "xmalloc.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct readpool {
	pthread_mutex_t	 mtx;
	pthread_cond_t	 start, finish;
	pthread_t	*threads;
	unsigned int	 nthreads;
	bool		 stop;
	/* The read running now. */
	uint64_t	 gen;		/* bumped for each read */
	readpool_fn	*fn;
	void		*arg;
	unsigned int	 nparts, next, running;
};

/* Takes and runs parts until none is left; called with mtx held. */
static void
readpool_drain(struct readpool *p)
{
	readpool_fn *fn = p->fn;
	void *arg = p->arg;
	unsigned int i;

	while (p->next < p->nparts) {
		i = p->next++;
		p->running++;
		pthread_mutex_unlock(&p->mtx);
		fn(arg, i);
		pthread_mutex_lock(&p->mtx);
		if (--p->running == 0 && p->next >= p->nparts)
			pthread_cond_broadcast(&p->finish);
	}
}

static void *
readpool_thread(void *arg)
{
	struct readpool *p = arg;
	uint64_t seen = 0;

	pthread_mutex_lock(&p->mtx);
	for (;;) {
		while (!p->stop && p->gen == seen)
			pthread_cond_wait(&p->start, &p->mtx);
		if (p->stop)
			break;
		seen = p->gen;
		readpool_drain(p);
	}
	pthread_mutex_unlock(&p->mtx);
	return NULL;
}

struct readpool *
readpool_new(unsigned int nthreads)
{
	struct readpool *p = xcalloc(1, sizeof(*p));
	unsigned int i;
	int rc;

	if ((rc = pthread_mutex_init(&p->mtx, NULL)) != 0 ||
	    (rc = pthread_cond_init(&p->start, NULL)) != 0 ||
	    (rc = pthread_cond_init(&p->finish, NULL)) != 0)
		fatalx("readpool: %s", strerror(rc));
	p->threads = xcalloc(nthreads > 0 ? nthreads : 1,
	    sizeof(*p->threads));
	for (i = 0; i < nthreads; i++) {
		if ((rc = pthread_create(&p->threads[i], NULL,
		    readpool_thread, p)) != 0)
			fatalx("readpool: pthread_create: %s", strerror(rc));
		p->nthreads++;
	}
	return p;
}

unsigned int
readpool_width(const struct readpool *p)
{
	return p != NULL ? p->nthreads + 1 : 1;
}

void
readpool_run(struct readpool *p, unsigned int nparts, readpool_fn *fn,
    void *arg)
{
	unsigned int i;

	if (p == NULL || p->nthreads == 0 || nparts < 2) {
		for (i = 0; i < nparts; i++)
			fn(arg, i);
		return;
	}
	pthread_mutex_lock(&p->mtx);
	p->fn = fn;
	p->arg = arg;
	p->nparts = nparts;
	p->next = 0;
	p->running = 0;
	p->gen++;
	pthread_cond_broadcast(&p->start);
	readpool_drain(p);
	while (p->running > 0)
		pthread_cond_wait(&p->finish, &p->mtx);
	p->fn = NULL;
	p->arg = NULL;
	pthread_mutex_unlock(&p->mtx);
}

void
readpool_free(struct readpool **pp)
{
	struct readpool *p = *pp;
	unsigned int i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mtx);
	p->stop = true;
	pthread_cond_broadcast(&p->start);
	pthread_mutex_unlock(&p->mtx);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->start);
	pthread_cond_destroy(&p->finish);
	pthread_mutex_destroy(&p->mtx);
	free(p->threads);
	free(p);
	*pp = NULL;
}
