/* SPDX-License-Identifier: ISC */
/*
 * test_store_workq.c: storaged's thread pool: work runs off the loop
 * thread, results come back on the loop, the queue is bounded, and freeing
 * the pool cancels what has not started.
 */
/* unit-deps: store/workq.c store/loopwake.c */
#include "harness.h"

#include "store/workq.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

struct job {
	pthread_t	 loop;		/* the thread of the event loop */
	bool		 off_loop;	/* work ran on another thread */
	bool		 on_loop;	/* done ran on the loop thread */
	bool		 cancelled;
	int		 done;
	unsigned int	 sleep_ms;
	int		 in, out;
};

static int idle_calls;

static void
job_work(void *arg)
{
	struct job *j = arg;

	j->off_loop = !pthread_equal(pthread_self(), j->loop);
	if (j->sleep_ms > 0)
		usleep(j->sleep_ms * 1000);
	j->out = j->in * j->in;
}

static void
job_done(void *arg, bool cancelled)
{
	struct job *j = arg;

	j->on_loop = pthread_equal(pthread_self(), j->loop);
	j->cancelled = cancelled;
	j->done++;
}

static void
idle_cb(void *arg)
{
	idle_calls++;
	event_base_loopexit(arg, NULL);
}

TEST(test_workq_runs_off_loop)
{
	struct event_base *base = event_base_new();
	struct workq *q = workq_new(base, 3, 100);
	struct job jobs[50];
	int i, failed = 0;

	memset(jobs, 0, sizeof(jobs));
	idle_calls = 0;
	workq_set_idle_cb(q, idle_cb, base);
	for (i = 0; i < 50; i++) {
		jobs[i].loop = pthread_self();
		jobs[i].in = i;
		CHECK_INT(workq_submit(q, job_work, job_done, &jobs[i]), 0);
	}
	CHECK_INT(workq_pending(q), 50);
	event_base_dispatch(base);
	CHECK_INT(workq_pending(q), 0);
	CHECK(idle_calls >= 1);
	for (i = 0; i < 50; i++)
		if (jobs[i].done != 1 || jobs[i].cancelled ||
		    !jobs[i].off_loop || !jobs[i].on_loop ||
		    jobs[i].out != i * i)
			failed++;
	CHECK_INT(failed, 0);
	workq_free(&q);
	CHECK(q == NULL);
	event_base_free(base);
}

TEST(test_workq_bounded_and_cancel)
{
	struct event_base *base = event_base_new();
	struct workq *q = workq_new(base, 1, 3);
	struct job jobs[4];
	int i;

	memset(jobs, 0, sizeof(jobs));
	for (i = 0; i < 4; i++)
		jobs[i].loop = pthread_self();
	jobs[0].sleep_ms = 100;
	for (i = 0; i < 3; i++)
		CHECK_INT(workq_submit(q, job_work, job_done, &jobs[i]), 0);
	/* The queue holds three: the fourth is refused, not queued. */
	CHECK_INT(workq_submit(q, job_work, job_done, &jobs[3]), -1);
	usleep(20 * 1000);	/* the one thread is in job 0 */
	workq_free(&q);
	CHECK_INT(jobs[0].done, 1);
	CHECK(!jobs[0].cancelled);
	CHECK(jobs[0].off_loop);
	CHECK_INT(jobs[1].done, 1);
	CHECK(jobs[1].cancelled);
	CHECK_INT(jobs[2].done, 1);
	CHECK(jobs[2].cancelled);
	CHECK_INT(jobs[3].done, 0);
	event_base_free(base);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(test_workq_runs_off_loop),
	TEST_ENTRY(test_workq_bounded_and_cancel),
};

HARNESS_MAIN(tests)
