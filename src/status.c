/*
 * status — see status.h. The server is libmicrohttpd in its external-epoll
 * mode under libev. /metrics is built at request time from renew's table;
 * /status is rendered at most once per STATUS_PAGE_TTL into one buffer that
 * every client is sent from (status_response). Clients are held to a few
 * connections per address and a bounded number in all, each with a
 * timeout and a memory cap, so that they can get error answers or slow
 * answers for themselves and nothing else.
 */
#include "status.h"
#include "addr.h"
#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "renew.h"
#include "version.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>

#define STATUS_CONN_TIMEOUT	10	/* seconds a connection may make no progress (no request, nothing read) */
#define STATUS_CONN_LIMIT	256	/* connections at once, all clients; more wait in the listen backlog */
#define STATUS_PER_IP_LIMIT	8	/* connections at once from one address; more are closed at once */
#define STATUS_CONN_MEMORY	(16U << 10) /* bytes MHD may use per connection (request and headers) */
#define STATUS_SNDBUF		(128 << 10) /* kernel send buffer per connection (bytes; Linux doubles it) */
#define STATUS_PAGE_TTL		1.0	/* seconds one rendering of /status is served to every client */
#define STATUS_PAGE_KEEP	4	/* older renderings still being sent before a new one waits */

struct status {
	struct ev_loop *loop;		/* the one event loop */
	struct renew *renew;		/* borrowed: the certificates to report */
	struct MHD_Daemon *mhd;		/* the HTTP server, no thread of its own */
	ev_io io;			/* MHD's epoll fd: a connection or the listen socket is ready */
	ev_timer timer;			/* MHD's next connection timeout; stopped when idle */
	struct MHD_Response *page;	/* the current /status rendering (our reference), or NULL */
	double page_at;			/* ev_now() when it was rendered */
	int renderings;			/* renderings MHD or the cache still hold (page included) */
	int starting;			/* inside MHD_start_daemon: keep its message */
	char *start_err;		/* MHD's first message while starting, or NULL */
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

/* Queues body (malloc'd, taken; NULL: a fixed text instead) with code. */
static enum MHD_Result answer(struct MHD_Connection *conn, unsigned code, const char *type,
    char *body, size_t len, const char *text)
{
	struct MHD_Response *resp;
	enum MHD_Result rc;

	if (body != NULL)
		resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	else
		resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES ||
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES ||
	    (code == MHD_HTTP_METHOD_NOT_ALLOWED &&
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD") != MHD_YES)) {
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
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return answer(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", NULL, 0,
		    "only GET and HEAD\n");
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
		return answer(conn, MHD_HTTP_NOT_FOUND, "text/plain", NULL, 0,
		    "not found; try /metrics or /status\n");
	}
	if (body == NULL) {
		log_warn("status: %s: out of memory", url);
		return answer(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", NULL, 0,
		    "out of memory\n");
	}
	return answer(conn, MHD_HTTP_OK, type, body, len, NULL);
}

/* ------------------------------------------------------------------------
 * The server on the event loop
 */

/* MHD's messages: the first one while starting becomes the error; later ones are debug. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct status *s = cls;
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '.'))
		msg[--n] = '\0';
	if (s->starting) {
		if (s->start_err == NULL)
			s->start_err = strdup(msg);
	} else {
		log_debug("status: %s", msg);
	}
}

/*
 * A new connection: its kernel send buffer is fixed at STATUS_SNDBUF, so
 * that a client that does not read pins that much kernel memory and no more
 * (autotuning would let each one take 4 MB of the same rendering).
 */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	const union MHD_ConnectionInfo *ci;
	int sndbuf = STATUS_SNDBUF;

	(void)cls;
	(void)socket_context;
	if (code != MHD_CONNECTION_NOTIFY_STARTED ||
	    (ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD)) == NULL)
		return;
	if (setsockopt(ci->connect_fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) == -1)
		log_debug("status: cannot set the send buffer of a connection (%s)", strerror(errno));
}

/*
 * Arms the timer for MHD's next connection timeout, or for the moment the
 * cached /status rendering expires (so that an idle daemon does not keep
 * megabytes nobody will be sent); neither (idle) stops it.
 */
static void arm(struct status *s)
{
	MHD_UNSIGNED_LONG_LONG ms;
	double after = -1;

	ev_timer_stop(s->loop, &s->timer);
	if (MHD_get_timeout(s->mhd, &ms) == MHD_YES)
		after = ms / 1000.0;
	if (s->page != NULL) {
		double left = s->page_at + STATUS_PAGE_TTL - ev_now(s->loop);

		if (left < 0)
			left = 0;
		if (after < 0 || left < after)
			after = left;
	}
	if (after >= 0) {
		ev_timer_set(&s->timer, after, 0.);
		ev_timer_start(s->loop, &s->timer);
	}
}

/*
 * MHD_run() never waits here: in external epoll mode it polls with a zero
 * timeout. An expired rendering that no client is still being sent is let
 * go (while clients hold older ones, it stays: status_response needs it).
 */
static void serve(struct status *s)
{
	MHD_run(s->mhd);
	if (s->page != NULL && s->renderings == 1 &&
	    ev_now(s->loop) - s->page_at >= STATUS_PAGE_TTL) {
		MHD_destroy_response(s->page);
		s->page = NULL;
	}
	arm(s);
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	serve(w->data);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	serve(w->data);
}

struct status *status_new(struct ev_loop *loop, const char *listen, struct renew *r, char **err)
{
	struct status *s = NULL;
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	const char *why;
	char name[ADDR_HOSTLEN + 16];
	unsigned port;
	int v6;

	if (addr_listen(listen, &ss, &v6, &port, name, sizeof(name), &why) == -1) {
		err_set(err, "status-listen %s: %s", listen, why);
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		err_set(err, "status-listen %s: out of memory", listen);
		return NULL;
	}
	s->loop = loop;
	s->renew = r;
	s->starting = 1;
	/* MHD binds at once, with SO_REUSEADDR: a restart does not wait for TIME_WAIT. */
	s->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0),
	    (uint16_t)port, NULL, NULL, on_request, s,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)STATUS_CONN_TIMEOUT,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)STATUS_CONN_LIMIT,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)STATUS_PER_IP_LIMIT,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)STATUS_CONN_MEMORY,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
	    MHD_OPTION_END);
	s->starting = 0;
	if (s->mhd == NULL) {
		err_set(err, "status-listen %s: cannot listen (%s)", name,
		    s->start_err != NULL ? s->start_err : "libmicrohttpd did not start");
		goto fail;
	}
	if ((info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD)) == NULL) {
		err_set(err, "status-listen %s: libmicrohttpd has no epoll fd", name);
		goto fail;
	}
	ev_io_init(&s->io, on_io, info->epoll_fd, EV_READ);
	s->io.data = s;
	ev_io_start(loop, &s->io);
	ev_init(&s->timer, on_timer);
	s->timer.data = s;
	arm(s);
	log_info("status: serving http://%s/metrics and /status", name);
	return s;
fail:
	status_free(s);
	return NULL;
}

void status_free(struct status *s)
{
	if (s == NULL)
		return;
	if (s->mhd != NULL) {
		ev_io_stop(s->loop, &s->io);
		ev_timer_stop(s->loop, &s->timer);
		MHD_stop_daemon(s->mhd);	/* drops the references of connections still open */
	}
	if (s->page != NULL)
		MHD_destroy_response(s->page);
	free(s->start_err);
	free(s);
}
