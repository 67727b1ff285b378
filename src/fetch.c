/* fetch — see fetch.h. libcurl's multi_socket API driven by libev. */
#include "fetch.h"
#include "log.h"
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <uthash.h>

#define GET_MAX_PATH	255	/* RFC 5019: GET when the encoded request fits */

/*
 * A responder (scheme, host and port). At most FETCH_HOST_ACTIVE of its
 * transfers are handed to curl at once; the others wait here in order, so
 * that 10,000 renewals due together cost a queue entry each, not a curl
 * handle with its buffers.
 */
struct host {
	char *key;			/* "scheme://host:port", owned */
	int active;			/* transfers handed to curl */
	struct xfer *head, *tail;	/* waiting transfers */
	UT_hash_handle hh;		/* by key */
};

struct fetch {
	struct ev_loop *loop;		/* the one event loop */
	CURLM *multi;			/* every transfer */
	ev_timer timer;			/* curl's timeout */
	int pending;			/* transfers started, done() not yet called */
	struct xfer *xfers;		/* those transfers, to free at exit */
	struct host *hosts;		/* every responder asked so far */
	double connect_timeout;		/* seconds */
	double timeout;			/* seconds */
};

struct xfer {
	struct fetch *f;		/* owner */
	CURL *easy;			/* this transfer */
	char *url;			/* responder URL (base, without the GET path) */
	unsigned char *req;		/* DER request, owned */
	size_t req_len;			/* its length */
	int is_get;			/* this attempt is a GET */
	unsigned char *body;		/* response body so far */
	size_t body_len;		/* bytes in body */
	int too_big;			/* body passed FETCH_MAX_BODY */
	size_t head_len;		/* response header bytes so far */
	int head_too_big;		/* headers passed FETCH_MAX_HEAD */
	double max_age;			/* Cache-Control max-age, -1 = none */
	double age;			/* Age header, 0 = none */
	double expires;			/* Expires, 0 = none or unreadable */
	double date;			/* Date, 0 = none or unreadable */
	struct curl_slist *hdrs;	/* POST headers */
	char errbuf[CURL_ERROR_SIZE];	/* curl's message */
	fetch_done_fn *done;		/* caller's callback */
	void *arg;			/* its argument */
	struct xfer *next, *prev;	/* in fetch.xfers */
	struct host *host;		/* its responder */
	struct xfer *qnext;		/* in host's queue while waiting */
};

struct sock {
	ev_io io;			/* readiness of one curl socket */
	struct fetch *f;		/* owner */
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;
	unsigned char *b;

	if (x->body_len + len > FETCH_MAX_BODY) {
		x->too_big = 1;
		return 0;	/* aborts the transfer */
	}
	if ((b = realloc(x->body, x->body_len + len)) == NULL)
		return 0;
	memcpy(b + x->body_len, p, len);
	x->body = b;
	x->body_len += len;
	return len;
}

/* Clears what was learnt from the headers (a new attempt, or a new response after 100 Continue). */
static void head_reset(struct xfer *x)
{
	x->max_age = -1;
	x->age = 0;
	x->expires = 0;
	x->date = 0;
}

/* A non-negative number of seconds at p (at most 10 digits), or -1. */
static double delta_seconds(const char *p, const char *end)
{
	double v = 0;
	int n = 0;

	while (p < end && *p >= '0' && *p <= '9' && n < 10) {
		v = v * 10 + (*p++ - '0');
		n++;
	}
	return n > 0 ? v : -1;
}

/* The value of header "name:" in line (len bytes) as [*v, *end), trimmed; 0 if it is not that header. */
static int header_is(const char *line, size_t len, const char *name, const char **v, const char **end)
{
	size_t n = strlen(name);

	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return 0;
	*v = line + n + 1;
	*end = line + len;
	while (*v < *end && (**v == ' ' || **v == '\t'))
		(*v)++;
	while (*end > *v && ((*end)[-1] == '\r' || (*end)[-1] == '\n' || (*end)[-1] == ' ' || (*end)[-1] == '\t'))
		(*end)--;
	return 1;
}

/* An HTTP date between v and end as seconds since the epoch, 0 when unreadable. */
static double http_date(const char *v, const char *end)
{
	char buf[64];
	time_t t;

	if (end - v <= 0 || end - v >= (long)sizeof(buf))
		return 0;
	memcpy(buf, v, (size_t)(end - v));
	buf[end - v] = '\0';
	t = curl_getdate(buf, NULL);
	return t > 0 ? (double)t : 0;
}

/*
 * One response header line. Only the caching headers are kept; the total is
 * capped so that a responder cannot make us buffer or parse without end
 * (curl itself allows 100 KiB per header line).
 */
static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;
	const char *v, *end, *p;

	x->head_len += len;
	if (x->head_len > FETCH_MAX_HEAD) {
		x->head_too_big = 1;
		return 0;	/* aborts the transfer */
	}
	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		head_reset(x);
	} else if (header_is(line, len, "Cache-Control", &v, &end)) {
		/* Directives are comma-separated; no-cache / no-store mean "not fresh". */
		for (p = v; p < end; p++) {
			if ((p == v || p[-1] == ' ' || p[-1] == ',') && end - p >= 8 && strncasecmp(p, "max-age=", 8) == 0)
				x->max_age = delta_seconds(p + 8, end);
			else if ((p == v || p[-1] == ' ' || p[-1] == ',') && end - p >= 8 &&
			    (strncasecmp(p, "no-cache", 8) == 0 || strncasecmp(p, "no-store", 8) == 0))
				x->max_age = 0;
		}
	} else if (header_is(line, len, "Age", &v, &end)) {
		double a = delta_seconds(v, end);

		x->age = a > 0 ? a : 0;
	} else if (header_is(line, len, "Expires", &v, &end)) {
		x->expires = http_date(v, end);
	} else if (header_is(line, len, "Date", &v, &end)) {
		x->date = http_date(v, end);
	}
	return len;
}

/* When the answer of x stops being fresh by its headers (RFC 9111 4.2), received at now; 0 = unknown. */
static double fresh_until(const struct xfer *x, double now)
{
	double life;

	if (x->max_age >= 0)
		life = x->max_age;
	else if (x->expires > 0)
		life = x->expires - (x->date > 0 ? x->date : now);
	else
		return 0;
	life -= x->age;
	return life > 0 ? now + life : 0;
}

/* base64 of the request, then percent-encoded, appended to url (RFC 5019 GET). */
static char *get_url(const char *url, const unsigned char *req, size_t len)
{
	unsigned char b64[4 * ((GET_MAX_PATH + 2) / 3) + 4];
	char path[3 * sizeof(b64)], *out;
	size_t k = 0, ulen = strlen(url);
	int n;

	if (4 * ((len + 2) / 3) >= sizeof(b64))
		return NULL;
	n = EVP_EncodeBlock(b64, req, (int)len);
	for (int i = 0; i < n; i++) {
		unsigned char c = b64[i];

		if (c == '+' || c == '/' || c == '=') {
			snprintf(path + k, 4, "%%%02X", c);
			k += 3;
		} else {
			path[k++] = (char)c;
		}
	}
	path[k] = '\0';
	if (k > GET_MAX_PATH)
		return NULL;
	if ((out = malloc(ulen + k + 2)) == NULL)
		return NULL;
	snprintf(out, ulen + k + 2, "%s%s%s", url, (ulen && url[ulen - 1] == '/') ? "" : "/", path);
	return out;
}

static void xfer_free(struct xfer *x)
{
	if (x == NULL)
		return;
	if (x->prev != NULL)
		x->prev->next = x->next;
	else if (x->f != NULL && x->f->xfers == x)
		x->f->xfers = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	if (x->easy != NULL) {
		curl_multi_remove_handle(x->f->multi, x->easy);
		curl_easy_cleanup(x->easy);
	}
	curl_slist_free_all(x->hdrs);
	free(x->url);
	free(x->req);
	free(x->body);
	free(x);
}

/*
 * Seconds as curl's milliseconds, rounded up: to curl 0 ms means no limit
 * (a connect timeout of 0 its 300 s default), so a positive timeout must
 * never round down to it. conf keeps the values within 0.1..300 s anyway.
 */
static long curl_ms(double s)
{
	double ms = ceil(s * 1000);

	if (!(ms >= 1))		/* also NaN */
		return 1;
	return ms > 86400000 ? 86400000 : (long)ms;
}

/* Sets up x->easy for a GET (when allowed and it fits) or a POST. 0, or -1. */
static int xfer_prepare(struct xfer *x, int try_get)
{
	struct fetch *f = x->f;
	char *gurl = try_get ? get_url(x->url, x->req, x->req_len) : NULL;
	CURL *e = x->easy;

	curl_easy_reset(e);
	x->is_get = gurl != NULL;
	x->body_len = 0;
	x->too_big = 0;
	x->head_len = 0;
	x->head_too_big = 0;
	head_reset(x);
	x->errbuf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_URL, gurl != NULL ? gurl : x->url);
	free(gurl);
	if (!x->is_get) {
		if (x->hdrs == NULL)
			x->hdrs = curl_slist_append(NULL, "Content-Type: application/ocsp-request");
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->req);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)x->req_len);
	}
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, curl_ms(f->connect_timeout));
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, curl_ms(f->timeout));
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE, (long)FETCH_MAX_BODY);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);	/* OCSP responders do not redirect */
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "ocspd");
	return curl_multi_add_handle(f->multi, e) == CURLM_OK ? 0 : -1;
}

static void start_queued(struct fetch *f, struct host *h);

/* Reports the finished transfers; a failed GET is tried again as a POST. */
static void check_done(struct fetch *f)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(f->multi, &left)) != NULL) {
		struct xfer *x;
		struct host *h;
		long code = 0;
		curl_off_t usec;
		char why[CURL_ERROR_SIZE + 64];
		const char *err = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
		if (curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &usec) == CURLE_OK)
			metrics_fetch_latency(usec / 1e6);
		if (x->head_too_big) {
			snprintf(why, sizeof(why), "response headers larger than %d bytes", FETCH_MAX_HEAD);
			err = why;
		} else if (x->too_big || m->data.result == CURLE_FILESIZE_EXCEEDED) {
			snprintf(why, sizeof(why), "response body larger than %d bytes", FETCH_MAX_BODY);
			err = why;
		} else if (m->data.result != CURLE_OK) {
			snprintf(why, sizeof(why), "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(m->data.result));
			err = why;
		} else if (code != 200) {
			snprintf(why, sizeof(why), "HTTP status %ld", code);
			err = why;
		}
		curl_multi_remove_handle(f->multi, x->easy);
		/* A GET that failed for any reason but a timeout gets one POST. */
		if (err != NULL && x->is_get && m->data.result != CURLE_OPERATION_TIMEDOUT) {
			log_debug("%s: GET failed (%s), trying POST", x->url, err);
			if (xfer_prepare(x, 0) == 0)
				continue;
		}
		f->pending--;
		x->host->active--;
		x->done(x->arg, err ? NULL : x->body, err ? 0 : x->body_len,
		    err ? 0 : fresh_until(x, (double)time(NULL)), err);
		h = x->host;
		xfer_free(x);
		start_queued(f, h);
	}
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sock *s = (struct sock *)w;
	struct fetch *f = s->f;
	int action = (revents & EV_READ ? CURL_CSELECT_IN : 0) |
	    (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
	int running;

	(void)loop;
	curl_multi_socket_action(f->multi, w->fd, action, &running);
	check_done(f);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fetch *f = w->data;
	int running;

	(void)loop;
	(void)revents;
	curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(f);
}

static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct fetch *f = userp;
	struct sock *s = sockp;
	int events;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			ev_io_stop(f->loop, &s->io);
			free(s);
			curl_multi_assign(f->multi, fd, NULL);
		}
		return 0;
	}
	events = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return -1;
		s->f = f;
		curl_multi_assign(f->multi, fd, s);
	} else {
		ev_io_stop(f->loop, &s->io);
	}
	ev_io_init(&s->io, on_io, fd, events);
	ev_io_start(f->loop, &s->io);
	return 0;
}

static int on_curl_timer(CURLM *multi, long ms, void *userp)
{
	struct fetch *f = userp;

	(void)multi;
	ev_timer_stop(f->loop, &f->timer);
	if (ms >= 0) {
		ev_timer_set(&f->timer, ms / 1000.0, 0.);
		ev_timer_start(f->loop, &f->timer);
	}
	return 0;
}

struct fetch *fetch_new(struct ev_loop *loop, double connect_timeout, double timeout)
{
	struct fetch *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->loop = loop;
	f->connect_timeout = connect_timeout;
	f->timeout = timeout;
	if ((f->multi = curl_multi_init()) == NULL) {
		free(f);
		return NULL;
	}
	ev_timer_init(&f->timer, on_timer, 0., 0.);
	f->timer.data = f;
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
	curl_multi_setopt(f->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)FETCH_HOST_CONNS);
	curl_multi_setopt(f->multi, CURLMOPT_MAXCONNECTS, (long)(4 * FETCH_HOST_CONNS));
	return f;
}

void fetch_free(struct fetch *f)
{
	struct host *h, *tmp;

	if (f == NULL)
		return;
	/* Transfers still running or queued are abandoned without calling done(). */
	while (f->xfers != NULL)
		xfer_free(f->xfers);
	HASH_ITER(hh, f->hosts, h, tmp) {
		HASH_DEL(f->hosts, h);
		free(h->key);
		free(h);
	}
	ev_timer_stop(f->loop, &f->timer);
	curl_multi_cleanup(f->multi);
	free(f);
}

/* The responder of url ("scheme://host:port"), created on first use; NULL on a bad URL. */
static struct host *host_of(struct fetch *f, const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *name = NULL, *port = NULL, key[512];
	struct host *h = NULL;

	if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &name, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		goto out;
	snprintf(key, sizeof(key), "%s://%s:%s", scheme, name, port);
	HASH_FIND_STR(f->hosts, key, h);
	if (h == NULL && (h = calloc(1, sizeof(*h))) != NULL) {
		if ((h->key = strdup(key)) == NULL) {
			free(h);
			h = NULL;
			goto out;
		}
		HASH_ADD_KEYPTR(hh, f->hosts, h->key, strlen(h->key), h);
	}
out:
	curl_free(scheme);
	curl_free(name);
	curl_free(port);
	curl_url_cleanup(u);
	return h;
}

/* Hands x to curl, taking one of its responder's slots. 0, or -1 when it could not start. */
static int activate(struct xfer *x)
{
	if ((x->easy = curl_easy_init()) == NULL || xfer_prepare(x, 1) == -1)
		return -1;
	x->host->active++;
	return 0;
}

/* Starts the transfers waiting for h while it has room. */
static void start_queued(struct fetch *f, struct host *h)
{
	struct xfer *x;

	while (h->active < FETCH_HOST_ACTIVE && (x = h->head) != NULL) {
		h->head = x->qnext;
		if (h->head == NULL)
			h->tail = NULL;
		x->qnext = NULL;
		if (activate(x) == -1) {
			f->pending--;
			x->done(x->arg, NULL, 0, 0, "cannot start the transfer");
			xfer_free(x);
		}
	}
}

int fetch_start(struct fetch *f, const char *url, const unsigned char *req,
    size_t len, fetch_done_fn *done, void *arg, char **err)
{
	struct xfer *x = calloc(1, sizeof(*x));

	if (x == NULL || (x->url = strdup(url)) == NULL || (x->req = malloc(len ? len : 1)) == NULL) {
		err_set(err, "out of memory");
		goto fail;
	}
	x->f = f;
	memcpy(x->req, req, len);
	x->req_len = len;
	x->done = done;
	x->arg = arg;
	if ((x->host = host_of(f, url)) == NULL) {
		err_set(err, "not a usable URL");
		goto fail;
	}
	if (x->host->active < FETCH_HOST_ACTIVE) {
		if (activate(x) == -1) {
			err_set(err, "cannot start the transfer");
			goto fail;
		}
	} else if (x->host->tail != NULL) {
		x->host->tail->qnext = x;
		x->host->tail = x;
	} else {
		x->host->head = x->host->tail = x;
	}
	f->pending++;
	x->next = f->xfers;
	if (f->xfers != NULL)
		f->xfers->prev = x;
	f->xfers = x;
	return 0;
fail:
	xfer_free(x);
	return -1;
}

void fetch_set_timeouts(struct fetch *f, double connect_timeout, double timeout)
{
	f->connect_timeout = connect_timeout;
	f->timeout = timeout;
}

int fetch_pending(const struct fetch *f)
{
	return f->pending;
}
