/* source-http — see source-http.h. */
#include "source-http.h"
#include "fetch.h"

#include <stdlib.h>
#include <string.h>
#include <uthash.h>

/* One asker of a request in flight. */
struct waiter {
	source_answer_fn *fn;		/* told the answer */
	void *arg;			/* its argument */
};

/* One HTTP request in flight, shared by every waiter asking the same thing. */
struct flight {
	char *key;			/* URL, NUL, DER request; owned */
	size_t klen;			/* bytes in key */
	struct waiter *waiters;		/* who asked */
	int n;				/* how many */
	struct source_http *s;		/* owner */
	UT_hash_handle hh;		/* by key */
};

struct source_http {
	struct fetch *fetch;		/* borrowed */
	struct flight *flights;		/* requests in flight, by URL + request */
};

struct source_http *source_http_new(struct fetch *f)
{
	struct source_http *s = calloc(1, sizeof(*s));

	if (s != NULL)
		s->fetch = f;
	return s;
}

static void flight_free(struct flight *fl)
{
	free(fl->waiters);
	free(fl->key);
	free(fl);
}

void source_http_free(struct source_http *s)
{
	struct flight *fl, *tmp;

	if (s == NULL)
		return;
	HASH_ITER(hh, s->flights, fl, tmp) {
		HASH_DEL(s->flights, fl);
		flight_free(fl);
	}
	free(s);
}

/* A fetch_done_fn: tells every waiter of the flight, in the order they asked. */
static void on_flight_done(void *arg, const unsigned char *body, size_t len, double fresh_until,
    const char *err)
{
	struct flight *fl = arg;
	struct source_answer a = { err == NULL ? body : NULL, err == NULL ? len : 0, fresh_until, err };

	HASH_DEL(fl->s->flights, fl);
	for (int i = 0; i < fl->n; i++)
		fl->waiters[i].fn(fl->waiters[i].arg, &a);
	flight_free(fl);
}

int source_http_ask(struct source_http *s, const char *url, const unsigned char *req, size_t len,
    source_answer_fn *fn, void *waiter, char **err)
{
	size_t ulen = strlen(url) + 1, klen = ulen + len;
	struct flight *fl = NULL;
	struct waiter *w;
	char *key;
	int joined;

	if ((key = malloc(klen)) == NULL) {
		*err = strdup("out of memory");
		return -1;
	}
	memcpy(key, url, ulen);
	memcpy(key + ulen, req, len);
	HASH_FIND(hh, s->flights, key, klen, fl);
	joined = fl != NULL;
	if (fl == NULL) {
		if ((fl = calloc(1, sizeof(*fl))) == NULL) {
			free(key);
			*err = strdup("out of memory");
			return -1;
		}
		fl->key = key;
		fl->klen = klen;
		fl->s = s;
		key = NULL;
		if (fetch_start(s->fetch, url, req, len, on_flight_done, fl, err) == -1) {
			flight_free(fl);
			return -1;
		}
		HASH_ADD_KEYPTR(hh, s->flights, fl->key, fl->klen, fl);
	}
	free(key);
	if ((w = realloc(fl->waiters, (fl->n + 1) * sizeof(*w))) == NULL) {
		/* Sent (or joined) already: the flight stays for its other waiters, or lands unheard. */
		*err = strdup("out of memory");
		return -1;
	}
	fl->waiters = w;
	fl->waiters[fl->n].fn = fn;
	fl->waiters[fl->n].arg = waiter;
	fl->n++;
	return joined;
}
