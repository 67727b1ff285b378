/* work — see work.h. */
#include "work.h"

#include <pthread.h>
#include <stdlib.h>

struct job {
	work_fn *fn;			/* runs on a worker */
	work_fn *done;			/* then on the loop thread */
	void *arg;			/* for both */
	struct job *next;		/* in a queue */
};

struct work {
	struct ev_loop *loop;		/* the one event loop */
	ev_async wake;			/* a worker finished a job */
	pthread_mutex_t lock;		/* guards the two queues and stop */
	pthread_cond_t ready;		/* todo is not empty, or stop */
	struct job *todo, **todo_tail;	/* waiting for a worker */
	struct job *finished;		/* waiting for done() */
	pthread_t *threads;		/* the workers */
	int nthreads;			/* how many */
	int stop;			/* workers exit when set */
	int pending;			/* submitted, done() not yet run */
};

static void *worker(void *arg)
{
	struct work *w = arg;
	struct job *j;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->todo == NULL && !w->stop)
			pthread_cond_wait(&w->ready, &w->lock);
		if (w->stop)
			break;
		j = w->todo;
		w->todo = j->next;
		if (w->todo == NULL)
			w->todo_tail = &w->todo;
		pthread_mutex_unlock(&w->lock);
		j->fn(j->arg);
		pthread_mutex_lock(&w->lock);
		j->next = w->finished;
		w->finished = j;
		ev_async_send(w->loop, &w->wake);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void on_wake(struct ev_loop *loop, ev_async *a, int revents)
{
	struct work *w = a->data;
	struct job *list, *j, *rev = NULL;

	(void)loop;
	(void)revents;
	pthread_mutex_lock(&w->lock);
	list = w->finished;
	w->finished = NULL;
	pthread_mutex_unlock(&w->lock);
	/* Restore submission order, so results come back in a predictable order. */
	while (list != NULL) {
		j = list;
		list = j->next;
		j->next = rev;
		rev = j;
	}
	while (rev != NULL) {
		j = rev;
		rev = j->next;
		w->pending--;
		j->done(j->arg);
		free(j);
	}
}

struct work *work_new(struct ev_loop *loop, int threads)
{
	struct work *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->loop = loop;
	w->todo_tail = &w->todo;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->ready, NULL);
	ev_async_init(&w->wake, on_wake);
	w->wake.data = w;
	ev_async_start(loop, &w->wake);
	ev_unref(loop);		/* an idle pool does not keep the loop alive */
	if (threads > 0 && (w->threads = calloc((size_t)threads, sizeof(pthread_t))) == NULL)
		threads = 0;
	for (int i = 0; i < threads; i++)
		if (pthread_create(&w->threads[w->nthreads], NULL, worker, w) == 0)
			w->nthreads++;
	return w;
}

void work_free(struct work *w)
{
	struct job *j;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_broadcast(&w->ready);
	pthread_mutex_unlock(&w->lock);
	for (int i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	while ((j = w->todo) != NULL) {
		w->todo = j->next;
		free(j);
	}
	while ((j = w->finished) != NULL) {
		w->finished = j->next;
		free(j);
	}
	ev_ref(w->loop);
	ev_async_stop(w->loop, &w->wake);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->ready);
	free(w->threads);
	free(w);
}

void work_submit(struct work *w, work_fn *fn, work_fn *done, void *arg)
{
	struct job *j;

	if ((j = malloc(sizeof(*j))) == NULL) {
		fn(arg);
		done(arg);
		return;
	}
	j->fn = fn;
	j->done = done;
	j->arg = arg;
	j->next = NULL;
	if (w->nthreads == 0) {
		/* Inline (see work.h): done() from the loop, as if a worker had run fn. */
		fn(arg);
		pthread_mutex_lock(&w->lock);
		j->next = w->finished;
		w->finished = j;
		w->pending++;
		pthread_mutex_unlock(&w->lock);
		ev_async_send(w->loop, &w->wake);
		return;
	}
	pthread_mutex_lock(&w->lock);
	*w->todo_tail = j;
	w->todo_tail = &j->next;
	w->pending++;
	pthread_cond_signal(&w->ready);
	pthread_mutex_unlock(&w->lock);
}

int work_pending(const struct work *w)
{
	return w->pending;
}
