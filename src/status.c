/*
 * status — see status.h. The server is libmicrohttpd in its external-epoll
 * mode under libev. /metrics is built at request time from renew's table;
 * /status is rendered at most once per STATUS_PAGE_TTL into one buffer that
 * every client is sent from (status_response). Clients are held to a few
 * connections per address and a bounded number in all, each with a
 * timeout and a memory cap, so that they can get error answers or slow
 * answers for themselves and nothing else. "ocspd status" is a blocking
 * libcurl client (json-c): a command-line tool, not part of the daemon.
 */
#include "status.h"
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
#include <curl/curl.h>
#include <json-c/json.h>
#include <microhttpd.h>

#define STATUS_CONN_TIMEOUT	10	/* seconds a connection may make no progress (no request, nothing read) */
#define STATUS_CONN_LIMIT	256	/* connections at once, all clients; more wait in the listen backlog */
#define STATUS_PER_IP_LIMIT	8	/* connections at once from one address; more are closed at once */
#define STATUS_CONN_MEMORY	(16U << 10) /* bytes MHD may use per connection (request and headers) */
#define STATUS_SNDBUF		(128 << 10) /* kernel send buffer per connection (bytes; Linux doubles it) */
#define STATUS_PAGE_TTL		1.0	/* seconds one rendering of /status is served to every client */
#define STATUS_PAGE_KEEP	4	/* older renderings still being sent before a new one waits */
#define STATUS_ASK_TIMEOUT	10L	/* seconds "ocspd status" waits for the whole answer */
#define STATUS_ASK_MAX		(256L << 20) /* largest /status answer "ocspd status" reads */
#define STATUS_HOSTLEN		256	/* longest ADDR of ADDR:PORT, brackets excluded */

/* Exit statuses of "ocspd status", the Nagios plugin convention. */
enum {
	ASK_OK = 0,		/* every certificate fine */
	ASK_WARNING = 1,	/* renewal failing, a valid staple still served */
	ASK_CRITICAL = 2,	/* revoked, or failing without a valid staple */
	ASK_UNKNOWN = 3,	/* the daemon could not be asked */
};

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
 * Addresses
 */

/*
 * Splits "ADDR:PORT", "[ADDR]:PORT" or "PORT" into host (brackets removed;
 * "127.0.0.1" for a bare port, and for "localhost", which would otherwise
 * need a lookup) and port. 0, or -1 with *why (a static string).
 */
static int split_addr(const char *addr, char host[STATUS_HOSTLEN], unsigned *port, const char **why)
{
	const char *p, *colon = strrchr(addr, ':');
	size_t hlen;
	char *end;
	unsigned long n;

	if (colon == NULL) {
		snprintf(host, STATUS_HOSTLEN, "127.0.0.1");
		p = addr;
	} else if (addr[0] == '[') {
		const char *rbracket = strchr(addr, ']');

		hlen = rbracket != NULL ? (size_t)(rbracket - addr - 1) : 0;
		if (rbracket == NULL || rbracket + 1 != colon || hlen == 0 || hlen >= STATUS_HOSTLEN) {
			*why = "expected [IPV6]:PORT";
			return -1;
		}
		memcpy(host, addr + 1, hlen);
		host[hlen] = '\0';
		p = colon + 1;
	} else {
		hlen = colon - addr;
		if (memchr(addr, ':', hlen) != NULL) {
			*why = "an IPv6 address goes in brackets: [ADDR]:PORT";
			return -1;
		}
		if (hlen == 0 || hlen >= STATUS_HOSTLEN) {
			*why = "expected ADDR:PORT or PORT";
			return -1;
		}
		memcpy(host, addr, hlen);
		host[hlen] = '\0';
		p = colon + 1;
	}
	if (strcmp(host, "localhost") == 0)
		snprintf(host, STATUS_HOSTLEN, "127.0.0.1");
	n = strtoul(p, &end, 10);
	if (*p < '0' || *p > '9' || *end != '\0' || n == 0 || n > 65535) {
		*why = "bad port (expected 1 to 65535)";
		return -1;
	}
	*port = (unsigned)n;
	return 0;
}

/*
 * The socket address to listen on for "ADDR:PORT", whether it is IPv6, and
 * its canonical spelling (name, for messages). Only numeric addresses (and
 * localhost): a name lookup could block. 0, or -1 with *why.
 */
static int listen_addr(const char *addr, struct sockaddr_storage *ss, int *v6, unsigned *port,
    char *name, size_t namelen, const char **why)
{
	char host[STATUS_HOSTLEN];
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	if (split_addr(addr, host, port, why) == -1)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(*port);
		*v6 = 0;
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(*port);
		*v6 = 1;
	} else {
		*why = "not a numeric IPv4 or [IPv6] address";
		return -1;
	}
	snprintf(name, namelen, *v6 ? "[%s]:%u" : "%s:%u", host, *port);
	return 0;
}

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
	char *shrunk;

	JLIT(&b, "{");
	jkey(&b, "version", 1);
	jstring(&b, OCSPD_VERSION);
	jkey(&b, "now", 0);
	jtime(&b, ev_time());
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
	char name[STATUS_HOSTLEN + 16];
	unsigned port;
	int v6;

	if (listen_addr(listen, &ss, &v6, &port, name, sizeof(name), &why) == -1) {
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

/* ------------------------------------------------------------------------
 * "ocspd status": the client
 */

static void ask_usage(FILE *out)
{
	fprintf(out, "usage: ocspd status [-c FILE] [ADDR:PORT]\n\n"
	    "Asks a running ocspd (its --status-listen server) where every certificate\n"
	    "stands; prints a summary line, then one line per certificate, the most\n"
	    "urgent first: no staple first, then the soonest expiry.\n\n"
	    "  -c, --config FILE   read status-listen from FILE when ADDR:PORT is not given\n"
	    "                      (default: ~/.ocspd.conf, then /etc/ocspd/ocspd.conf)\n"
	    "  -h, --help          this text\n\n"
	    "A bare PORT means 127.0.0.1:PORT. Exit status (Nagios plugin convention):\n"
	    "0 every certificate stapled, without OCSP URL or not tried yet; 1 renewal\n"
	    "failing but a valid staple still served; 2 revoked, or failing without a\n"
	    "valid staple; 3 the daemon could not be asked.\n");
}

/*
 * status-listen from the config file: cfg, or the first of ~/.ocspd.conf and
 * /etc/ocspd/ocspd.conf (conf_default_file). Malloc'd, or NULL with
 * *err.
 */
static char *addr_from_conf(const char *cfg, char **err)
{
	struct conf c;
	char homecfg[4096];
	char *addr = NULL;

	if (cfg == NULL)
		cfg = conf_default_file(homecfg, sizeof(homecfg));
	if (cfg == NULL) {
		err_set(err, "no ADDR:PORT given and no config file (~/.ocspd.conf, /etc/ocspd/ocspd.conf) to read status-listen from");
		return NULL;
	}
	memset(&c, 0, sizeof(c));
	if (conf_read_file(&c, cfg, err) == 0) {
		if (c.status_listen == NULL)
			err_set(err, "no ADDR:PORT given and %s sets no status-listen", cfg);
		else if ((addr = strdup(c.status_listen)) == NULL)
			err_set(err, "out of memory");
	}
	conf_free(&c);
	return addr;
}

/*
 * The URL of /status for the daemon listening on addr: a wildcard listen
 * address is asked on loopback. Malloc'd, or NULL with *err.
 */
static char *status_url(const char *addr, char **err)
{
	char host[STATUS_HOSTLEN], *url;
	const char *why;
	unsigned port;
	size_t len;

	if (split_addr(addr, host, &port, &why) == -1) {
		err_set(err, "%s: %s", addr, why);
		return NULL;
	}
	if (strcmp(host, "0.0.0.0") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	else if (strcmp(host, "::") == 0)
		snprintf(host, sizeof(host), "::1");
	len = strlen(host) + 32;
	if ((url = malloc(len)) == NULL) {
		err_set(err, "out of memory");
		return NULL;
	}
	snprintf(url, len, strchr(host, ':') != NULL ? "http://[%s]:%u/status" : "http://%s:%u/status",
	    host, port);
	return url;
}

/* The body of an answer, as it arrives. */
struct body {
	char *p;			/* malloc'd, NUL-terminated */
	size_t len;			/* bytes in p */
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	char *np;

	n *= size;
	if (b->len + n > (size_t)STATUS_ASK_MAX || (np = realloc(b->p, b->len + n + 1)) == NULL)
		return 0;	/* curl reports a write error */
	memcpy(np + b->len, data, n);
	b->len += n;
	np[b->len] = '\0';
	b->p = np;
	return n;
}

/* GETs url into *b (caller frees b->p). 0, or -1 with *err. */
static int fetch_status(const char *url, struct body *b, char **err)
{
	CURL *e = curl_easy_init();
	char errbuf[CURL_ERROR_SIZE] = "";
	long code = 0;
	CURLcode rc;

	if (e == NULL) {
		err_set(err, "cannot initialise libcurl");
		return -1;
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, STATUS_ASK_TIMEOUT);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_NOPROXY, "*");	/* the daemon is asked directly, never through http_proxy */
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "ocspd-status/" OCSPD_VERSION);
	rc = curl_easy_perform(e);
	if (rc != CURLE_OK)
		err_set(err, "%s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
	else if (curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code != 200)
		err_set(err, "%s: HTTP status %ld", url, code);
	curl_easy_cleanup(e);
	return rc == CURLE_OK && code == 200 ? 0 : -1;
}

/* One certificate of the answer; strings borrowed from the parsed document. */
struct row {
	const char *state;		/* renew_state_name() */
	const char *expires;		/* next_update, NULL = no staple */
	const char *renewal;		/* next_renewal, NULL = none planned */
	const char *path;		/* certificate file */
	const char *last_error;		/* NULL = none */
	int staple;			/* a valid staple is served */
	int errors;			/* consecutive failed attempts */
	int rank;			/* without a staple: most urgent state first */
	char *shown_path;		/* path, escaped for the terminal (malloc'd) */
	char *shown_error;		/* last_error, likewise, or NULL */
};

/*
 * s as log.c would write it (malloc'd; "?" when out of memory): the table
 * goes to a terminal, and an error text may quote what a responder said.
 */
static char *shown(const char *s)
{
	size_t n = strlen(s) * 4 + 1;
	char *e = malloc(n);

	if (e == NULL)
		return strdup("?");
	log_escape(e, n, s);
	return e;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* No staple first (most urgent state first), then the soonest expiry, then the path. */
static int row_cmp(const void *pa, const void *pb)
{
	const struct row *a = pa, *b = pb;
	int c;

	if (a->staple != b->staple)
		return a->staple - b->staple;
	if (!a->staple && a->rank != b->rank)
		return a->rank - b->rank;
	/* ISO 8601 UTC strings of one format sort as their times do. */
	if (a->staple && (c = strcmp(a->expires, b->expires)) != 0)
		return c;
	return strcmp(a->path, b->path);
}

static const char *or_dash(const char *s)
{
	return s != NULL ? s : "-";
}

/* Prints the summary line and the table for the /status document text; the exit status. */
static int report(const char *url, const char *text)
{
	enum json_tokener_error jerr;
	json_object *root = json_tokener_parse_verbose(text, &jerr), *certs, *v;
	struct row *rows = NULL;
	size_t n = 0, i, pathw = 4;
	int count[RENEW_NSTATES] = { 0 }, rc = ASK_OK;
	static const char *const level[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };

	if (root == NULL || !json_object_object_get_ex(root, "certificates", &certs) ||
	    !json_object_is_type(certs, json_type_array)) {
		printf("OCSPD UNKNOWN - %s: not an ocspd status document (%s)\n", url,
		    root == NULL ? json_tokener_error_desc(jerr) : "no certificates array");
		rc = ASK_UNKNOWN;
		goto out;
	}
	n = json_object_array_length(certs);
	if (n > 0 && (rows = calloc(n, sizeof(*rows))) == NULL) {
		printf("OCSPD UNKNOWN - out of memory\n");
		rc = ASK_UNKNOWN;
		goto out;
	}
	for (i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(certs, i);
		struct row *r = &rows[i];
		enum renew_state st;

		r->state = or_dash(jstr(o, "state"));
		r->path = or_dash(jstr(o, "path"));
		r->expires = jstr(o, "next_update");
		r->renewal = jstr(o, "next_renewal");
		r->last_error = jstr(o, "last_error");
		/* Parse errors start with the path, already in its own column. */
		if (r->last_error != NULL && strncmp(r->last_error, r->path, strlen(r->path)) == 0 &&
		    strncmp(r->last_error + strlen(r->path), ": ", 2) == 0)
			r->last_error += strlen(r->path) + 2;
		if ((r->shown_path = shown(r->path)) != NULL)
			r->path = r->shown_path;
		if (r->last_error != NULL && (r->shown_error = shown(r->last_error)) != NULL)
			r->last_error = r->shown_error;
		r->staple = json_object_object_get_ex(o, "staple", &v) && json_object_get_boolean(v) &&
		    r->expires != NULL;
		r->errors = json_object_object_get_ex(o, "error_count", &v) ? json_object_get_int(v) : 0;
		if (renew_state_from_name(r->state, &st) == 0) {
			enum renew_severity sev = renew_state_severity(st, r->staple);

			count[st]++;
			r->rank = renew_state_rank(st);
			if (sev == RENEW_SEV_CRITICAL)
				rc = ASK_CRITICAL;
			else if (sev == RENEW_SEV_WARNING && rc < ASK_WARNING)
				rc = ASK_WARNING;
		} else {
			r->rank = renew_state_rank(RENEW_NSTATES);	/* a newer daemon's state: last */
		}
		if (strlen(r->path) > pathw)
			pathw = strlen(r->path);
	}
	if (n > 1)
		qsort(rows, n, sizeof(*rows), row_cmp);
	printf("OCSPD %s - %zu certificate%s: %d stapled, %d failing, %d revoked, %d no OCSP URL, %d pending\n",
	    level[rc], n, n == 1 ? "" : "s", count[RENEW_STAPLED], count[RENEW_FAILING],
	    count[RENEW_REVOKED], count[RENEW_NO_URL], count[RENEW_PENDING]);
	if (n == 0)
		goto out;
	printf("%-11s  %-20s  %-20s  %6s  %-*s  %s\n", "STATE", "EXPIRES", "NEXT RENEWAL", "ERRORS",
	    (int)pathw, "PATH", "LAST ERROR");
	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		printf("%-11s  %-20s  %-20s  %6d  %-*s  %s\n", r->state,
		    r->staple ? r->expires : "-", or_dash(r->renewal), r->errors,
		    (int)pathw, r->path, or_dash(r->last_error));
	}
out:
	for (i = 0; rows != NULL && i < n; i++) {
		free(rows[i].shown_path);
		free(rows[i].shown_error);
	}
	free(rows);
	json_object_put(root);
	return rc;
}

int status_command(int argc, char **argv)
{
	const char *cfg = NULL, *addr = NULL;
	char *conf_addr = NULL, *url = NULL, *err = NULL;
	struct body b = { NULL, 0 };
	int rc = ASK_UNKNOWN;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			ask_usage(stdout);
			return ASK_OK;
		} else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			if (++i == argc) {
				fprintf(stderr, "ocspd status: %s needs a FILE\n", a);
				return ASK_UNKNOWN;
			}
			cfg = argv[i];
		} else if (strncmp(a, "--config=", 9) == 0) {
			cfg = a + 9;
		} else if (strncmp(a, "-c", 2) == 0) {
			cfg = a + 2;
		} else if (a[0] == '-' || addr != NULL) {
			fprintf(stderr, "ocspd status: unexpected argument \"%s\" (see ocspd status --help)\n", a);
			return ASK_UNKNOWN;
		} else {
			addr = a;
		}
	}
	if (addr == NULL && (addr = conf_addr = addr_from_conf(cfg, &err)) == NULL)
		goto out;
	if ((url = status_url(addr, &err)) == NULL)
		goto out;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		err_set(&err, "cannot initialise libcurl");
		goto out;
	}
	if (fetch_status(url, &b, &err) == 0)
		rc = report(url, b.p != NULL ? b.p : "");
	curl_global_cleanup();
out:
	if (err != NULL)
		printf("OCSPD UNKNOWN - %s\n", err);
	free(err);
	free(b.p);
	free(url);
	free(conf_addr);
	return rc;
}
