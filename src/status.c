/*
 * status — see status.h. The server is libmicrohttpd on the event loop
 * (httpd.c). /metrics is built at request time from renew's table;
 * /status is rendered at most once per STATUS_PAGE_TTL into one buffer that
 * every client is sent from (status_response). Clients are held to a few
 * connections per address and a bounded number in all, each with a
 * timeout and a memory cap, so that they can get error answers or slow
 * answers for themselves and nothing else.
 */
#include "status.h"
#include "conf.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "renew.h"
#include "version.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <microhttpd.h>

#define STATUS_CONN_TIMEOUT	10	/* seconds a connection may make no progress (no request, nothing read) */
#define STATUS_REQUEST_TIME	10	/* seconds to send a request line and headers whole */
#define STATUS_CONN_LIMIT	256	/* connections at once, all clients; more wait in the listen backlog */
#define STATUS_PER_IP_LIMIT	8	/* connections at once from one address; more are closed at once */
#define STATUS_CONN_MEMORY	(16U << 10) /* bytes MHD may use per connection (request and headers) */
#define STATUS_SNDBUF		(128 << 10) /* kernel send buffer per connection (bytes; Linux doubles it) */
#define STATUS_PAGE_TTL		1.0	/* seconds one rendering of /status is served to every client */
#define STATUS_PAGE_KEEP	4	/* older renderings still being sent before a new one waits */

struct status {
	struct ev_loop *loop;		/* the one event loop */
	struct renew *renew;		/* borrowed: the certificates to report */
	struct httpd *httpd;		/* the HTTP server on the loop */
	struct MHD_Response *page;	/* the current /status rendering (our reference), or NULL */
	double page_at;			/* ev_now() when it was rendered */
	int renderings;			/* renderings MHD or the cache still hold (page included) */
};

/* ------------------------------------------------------------------------
 * Answers
 */

/* "2026-11-26T13:00:00Z" into buf (at least 21 bytes). */
static void fmt_utc(double t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "?");
}

/* The earliest staple expiry, for /metrics (the smallest next_update of a staple, 0 = none). */
static void earliest_one(void *arg, const struct renew_status *st)
{
	double *earliest = arg;

	if (st->has_staple && st->next_update > 0 && (*earliest == 0 || st->next_update < *earliest))
		*earliest = st->next_update;
}

/*
 * The /metrics page: gauges computed from renew now, then metrics.h's
 * counters. Malloc'd (*len bytes), or NULL when out of memory.
 */
static char *metrics_page(struct status *s, size_t *len)
{
	int n[RENEW_NSTATES];
	double now = ev_time(), earliest = 0;
	char *buf = NULL;
	FILE *f;
	int bad;

	renew_counts(s->renew, n);
	renew_foreach_status(s->renew, earliest_one, &earliest);
	/* All is well right now: the "last successful pass" gauge reads now. */
	if (renew_all_stapled(s->renew))
		metrics_pass_ok(now);
	*len = 0;
	if ((f = open_memstream(&buf, len)) == NULL)
		return NULL;
	fprintf(f, "# HELP ocspd_certificates Certificates by state.\n"
	    "# TYPE ocspd_certificates gauge\n");
	for (int i = 0; i < RENEW_NSTATES; i++)
		fprintf(f, "ocspd_certificates{state=\"%s\"} %d\n", renew_state_name(i), n[i]);
	/* No sample at all without a staple: any number would read as a real expiry. */
	fprintf(f, "# HELP ocspd_staple_expiry_seconds Seconds until the earliest staple expires (its nextUpdate); no sample when no certificate has a staple.\n"
	    "# TYPE ocspd_staple_expiry_seconds gauge\n");
	if (earliest > 0)
		fprintf(f, "ocspd_staple_expiry_seconds %.3f\n", earliest - now);
	bad = metrics_write(f) == -1;
	if (fclose(f) != 0 || bad || buf == NULL) {
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * The /status document is written straight into one buffer (no json-c tree:
 * 20,000 certificates would be a quarter of a million objects), in a single
 * pass over renew's table.
 */
struct jbuf {
	char *p;			/* malloc'd */
	size_t len;			/* bytes written */
	size_t cap;			/* bytes allocated */
	int failed;			/* out of memory: the document is lost */
};

/* Room for n more bytes; 0, or -1 (and failed) when out of memory. */
static int jroom(struct jbuf *b, size_t n)
{
	size_t cap = b->cap > 0 ? b->cap : 4096;
	char *np;

	if (b->failed)
		return -1;
	if (b->len + n <= b->cap)
		return 0;
	while (cap < b->len + n)
		cap *= 2;
	if ((np = realloc(b->p, cap)) == NULL) {
		b->failed = 1;
		return -1;
	}
	b->p = np;
	b->cap = cap;
	return 0;
}

static void jraw(struct jbuf *b, const char *s, size_t n)
{
	if (jroom(b, n) == 0) {
		memcpy(b->p + b->len, s, n);
		b->len += n;
	}
}

#define JLIT(b, lit) jraw((b), (lit), sizeof(lit) - 1)

/*
 * s as a JSON string (NULL: null). JSON needs valid UTF-8, and a file name
 * is any bytes: a byte that does not belong to a valid UTF-8 character is
 * written as the four characters \xNN (JSON "\\xNN"), as log.c writes it.
 * Control characters take JSON's own \u00NN escape.
 */
static void jstring(struct jbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t n, l;

	if (s == NULL) {
		JLIT(b, "null");
		return;
	}
	n = strlen(s);
	/* At most 7 bytes out per byte in ("\u00NN" is 6, "\\xNN" 5), plus the quotes. */
	if (jroom(b, n * 7 + 2) == -1)
		return;
	b->p[b->len++] = '"';
	while (n > 0) {
		char *o = b->p + b->len;

		if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\') {
			*o = (char)*p;
			b->len++;
			p++;
			n--;
			continue;
		}
		if (*p == '"' || *p == '\\') {
			o[0] = '\\';
			o[1] = (char)*p;
			b->len += 2;
			p++;
			n--;
			continue;
		}
		if (*p < 0x20 || *p == 0x7f) {
			memcpy(o, "\\u00", 4);
			o[4] = hex[*p >> 4];
			o[5] = hex[*p & 0xf];
			b->len += 6;
			p++;
			n--;
			continue;
		}
		if ((l = log_utf8_len(p, n)) > 0) {
			memcpy(o, p, l);
			b->len += l;
			p += l;
			n -= l;
			continue;
		}
		memcpy(o, "\\\\x", 3);
		o[3] = hex[*p >> 4];
		o[4] = hex[*p & 0xf];
		b->len += 5;
		p++;
		n--;
	}
	b->p[b->len++] = '"';
}

/* "key": as the start of a member; first says no comma before it. */
static void jkey(struct jbuf *b, const char *key, int first)
{
	if (!first)
		JLIT(b, ",");
	jstring(b, key);
	JLIT(b, ":");
}

/* A time as an ISO 8601 UTC string; 0 (none) as null. */
static void jtime(struct jbuf *b, double t)
{
	char buf[32];

	if (t <= 0) {
		JLIT(b, "null");
		return;
	}
	fmt_utc(t, buf, sizeof(buf));
	jstring(b, buf);
}

static void jint(struct jbuf *b, long v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%ld", v);

	jraw(b, buf, (size_t)n);
}

/* The document being built and whether a certificate was written yet. */
struct json_build {
	struct jbuf *b;			/* the output */
	int n;				/* certificates written */
};

static void json_one(void *arg, const struct renew_status *st)
{
	struct json_build *jb = arg;
	struct jbuf *b = jb->b;

	if (b->failed)
		return;
	if (jb->n++ > 0)
		JLIT(b, ",");
	JLIT(b, "{");
	jkey(b, "path", 1);
	jstring(b, st->path);
	jkey(b, "subject", 0);
	jstring(b, st->subject);
	jkey(b, "serial", 0);
	jstring(b, st->serial);
	jkey(b, "responder", 0);
	jstring(b, st->responder);
	jkey(b, "state", 0);
	jstring(b, renew_state_name(st->state));
	jkey(b, "staple", 0);
	if (st->has_staple)
		JLIT(b, "true");
	else
		JLIT(b, "false");
	jkey(b, "this_update", 0);
	jtime(b, st->this_update);
	jkey(b, "next_update", 0);
	jtime(b, st->next_update);
	jkey(b, "next_renewal", 0);
	jtime(b, st->renew_at);
	jkey(b, "last_error", 0);
	jstring(b, st->last_error);
	jkey(b, "error_count", 0);
	jint(b, st->error_count);
	JLIT(b, "}");
}

/* The /status document, malloc'd (*len bytes), or NULL when out of memory. */
static char *status_page(struct status *s, size_t *len)
{
	struct jbuf b = { NULL, 0, 0, 0 };
	struct json_build jb = { &b, 0 };
	const char *rstate, *rurl;
	char *shrunk;

	JLIT(&b, "{");
	jkey(&b, "version", 1);
	jstring(&b, OCSPD_VERSION);
	jkey(&b, "now", 0);
	jtime(&b, ev_time());
	if (metrics_redis_info(&rstate, &rurl)) {	/* fleet mode: where its Redis stands */
		jkey(&b, "redis", 0);
		JLIT(&b, "{");
		jkey(&b, "state", 1);
		jstring(&b, rstate);
		jkey(&b, "url", 0);
		jstring(&b, rurl);
		JLIT(&b, "}");
	}
	jkey(&b, "certificates", 0);
	JLIT(&b, "[");
	renew_foreach_status(s->renew, json_one, &jb);
	JLIT(&b, "]}\n");
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	/* The rendering is kept while clients read it: give back the doubling's slack. */
	if ((shrunk = realloc(b.p, b.len)) != NULL)
		b.p = shrunk;
	*len = b.len;
	return b.p;
}

/* ------------------------------------------------------------------------
 * One rendering of /status shared by every client
 */

/* What MHD holds for one rendering: freed when the last client is done with it. */
struct rendering {
	struct status *s;		/* whose count of live renderings to lower */
	char *body;			/* the document, malloc'd */
};

static void rendering_free(void *cls)
{
	struct rendering *r = cls;

	r->s->renderings--;
	free(r->body);
	free(r);
}

/*
 * The response for GET /status: rendered anew only when the cached one is
 * older than STATUS_PAGE_TTL and fewer than STATUS_PAGE_KEEP older ones are
 * still being sent (slow or stuck readers keep theirs alive until their
 * connection times out); otherwise the cached one, however old: its "now"
 * says when it was made. So status clients cost at most one rendering per
 * TTL of loop time and a few renderings of memory, however many they are.
 * Borrowed (the cache keeps a reference), NULL when out of memory.
 */
static struct MHD_Response *status_response(struct status *s)
{
	struct MHD_Response *resp = NULL;
	struct rendering *r = NULL;
	double now = ev_now(s->loop);
	size_t len = 0;

	if (s->page != NULL && (now - s->page_at < STATUS_PAGE_TTL ||
	    s->renderings > STATUS_PAGE_KEEP))
		return s->page;
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->body = status_page(s, &len)) == NULL)
		goto fail;
	r->s = s;
	resp = MHD_create_response_from_buffer_with_free_callback_cls(len, r->body, rendering_free, r);
	if (resp == NULL)
		goto fail;
	s->renderings++;	/* from here on rendering_free lowers it */
	r = NULL;
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") != MHD_YES ||
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES) {
		MHD_destroy_response(resp);
		goto fail;
	}
	if (s->page != NULL)
		MHD_destroy_response(s->page);	/* clients still sending it keep their reference */
	s->page = resp;
	s->page_at = now;
	return resp;
fail:
	if (r != NULL)
		free(r->body);
	free(r);
	return s->page;		/* an older rendering beats an error */
}

/* Queues body (malloc'd, taken) with code. */
static enum MHD_Result answer(struct MHD_Connection *conn, unsigned code, const char *type,
    char *body, size_t len)
{
	struct MHD_Response *resp;
	enum MHD_Result rc;

	if ((resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)) == NULL) {
		free(body);
		return MHD_NO;
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES ||
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	rc = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* MHD's access handler: answers at once (no request body is read). */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct status *s = cls;
	char *body = NULL;
	size_t len = 0;
	const char *type = NULL;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req_cls;
	httpd_request_read(conn);	/* no body is read */
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return httpd_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n", "GET, HEAD");
	if (strcmp(url, "/metrics") == 0) {
		type = "text/plain; version=0.0.4; charset=utf-8";
		body = metrics_page(s, &len);
	} else if (strcmp(url, "/status") == 0) {
		struct MHD_Response *resp = status_response(s);

		if (resp != NULL)
			return MHD_queue_response(conn, MHD_HTTP_OK, resp);	/* takes its own reference */
		body = NULL;
		type = NULL;
	} else {
		return httpd_text(conn, MHD_HTTP_NOT_FOUND, "not found; try /metrics or /status\n", NULL);
	}
	if (body == NULL) {
		log_warn("status: %s: out of memory", url);
		return httpd_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL);
	}
	return answer(conn, MHD_HTTP_OK, type, body, len);
}

/* ------------------------------------------------------------------------
 * The server on the event loop (httpd.c)
 */

/*
 * An httpd_tick_fn: an expired rendering that no client is still being sent
 * is let go (while clients hold older ones, it stays: status_response needs
 * it); otherwise wakes when it expires, so that an idle daemon does not keep
 * megabytes nobody will be sent.
 */
static double tick(void *arg)
{
	struct status *s = arg;
	double left;

	if (s->page == NULL)
		return -1;
	left = s->page_at + STATUS_PAGE_TTL - ev_now(s->loop);
	if (left > 0)
		return left;
	if (s->renderings == 1) {
		MHD_destroy_response(s->page);
		s->page = NULL;
	}
	/* Still being sent: the run that ends its last connection calls again. */
	return -1;
}

struct status *status_new(struct ev_loop *loop, const char *listen, struct renew *r, char **err)
{
	static const struct httpd_limits lim = {
		STATUS_CONN_TIMEOUT, STATUS_REQUEST_TIME, STATUS_CONN_LIMIT, STATUS_PER_IP_LIMIT, STATUS_CONN_MEMORY, STATUS_SNDBUF,
	};
	struct status *s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		err_set(err, "status-listen %s: out of memory", listen);
		return NULL;
	}
	s->loop = loop;
	s->renew = r;
	if ((s->httpd = httpd_new(loop, "status-listen", listen, &lim, 0, on_request, NULL, s, err)) == NULL) {
		free(s);
		return NULL;
	}
	httpd_set_tick(s->httpd, tick, s);
	log_info("status: serving http://%s/metrics and /status", httpd_name(s->httpd));
	return s;
}

void status_free(struct status *s)
{
	if (s == NULL)
		return;
	httpd_free(s->httpd);	/* drops the references of connections still open */
	if (s->page != NULL)
		MHD_destroy_response(s->page);
	free(s);
}
