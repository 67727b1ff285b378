/*
 * work — a small pool of worker threads for CPU-bound parsing and verifying.
 *
 * work_submit() runs fn(arg) on a worker, then done(arg) on the event loop
 * thread. The job owns nothing: arg belongs to the caller until done() runs.
 *
 * With 0 threads (--renewal-threads 0, and the unit tests of the renew
 * cycle) the pool runs inline: fn(arg) runs at once in the caller, and
 * done(arg) is queued on the loop as a worker's would be (called from the
 * loop, in submission order, never from inside work_submit), so the caller
 * sees the same order of events as with threads, minus the threads. Only
 * when out of memory does done() run at once too.
 */
#ifndef OCSPD_WORK_H
#define OCSPD_WORK_H

#include <ev.h>

typedef void work_fn(void *arg);

struct work;

struct work *work_new(struct ev_loop *loop, int threads);
/* Waits for running jobs, drops queued ones without calling done. */
void work_free(struct work *w);
void work_submit(struct work *w, work_fn *fn, work_fn *done, void *arg);
/* Jobs submitted whose done() has not run yet. */
int work_pending(const struct work *w);

#endif
