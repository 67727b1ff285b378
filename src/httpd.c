/*
 * httpd — see httpd.h. One MHD daemon in external-epoll mode, its epoll fd
 * under an ev_io, its timeouts (and the caller's tick) under one ev_timer.
 */
#include "httpd.h"
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define HTTPD_SWEEP	1.0	/* seconds between looks for connections past their request deadline */

/*
 * One open connection (MHD's socket context): whether it is sending a
 * request and since when. In the httpd's list while open.
 */
struct conn {
	struct httpd *h;		/* owner */
	int fd;				/* the socket (MHD's) */
	double since;			/* ev_now() when its current request began, 0 = none being read */
	struct conn *prev, *next;	/* in h->conns */
};

struct httpd {
	struct ev_loop *loop;		/* the one event loop */
	const char *what;		/* the option, for messages (borrowed, static) */
	struct MHD_Daemon *mhd;		/* the HTTP server, no thread of its own */
	ev_io io;			/* MHD's epoll fd: a connection or the listen socket is ready */
	ev_timer timer;			/* MHD's next timeout or the caller's tick; stopped when idle */
	ev_timer sweep;			/* request deadlines, every HTTPD_SWEEP while connections are open */
	double request_time;		/* seconds a request may take to arrive whole */
	struct conn *conns;		/* open connections */
	int sndbuf;			/* per-connection send buffer, 0 = the kernel's */
	MHD_RequestCompletedCallback completed; /* caller's, or NULL */
	void *hcls;			/* the caller's handler argument */
	httpd_tick_fn *tick;		/* caller's housekeeping, or NULL */
	void *tick_arg;			/* its argument */
	int starting;			/* inside MHD_start_daemon: keep its message */
	char *start_err;		/* MHD's first message while starting, or NULL */
	char name[ADDR_HOSTLEN + 16];	/* the address as bound, for messages */
};

/* MHD's messages: the first one while starting becomes the error; later ones are debug. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct httpd *h = cls;
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '.'))
		msg[--n] = '\0';
	if (h->starting) {
		if (h->start_err == NULL)
			h->start_err = strdup(msg);
	} else {
		log_debug("%s: %s", h->what, msg);
	}
}

/*
 * A new connection is tracked for its request deadline, and its kernel send
 * buffer is fixed, so that a client that does not read pins that much kernel
 * memory and no more (autotuning would let each one take megabytes of the
 * same answer).
 */
static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	struct httpd *h = cls;
	const union MHD_ConnectionInfo *ci;
	struct conn *c = *socket_context;
	int sndbuf = h->sndbuf;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (c == NULL)
			return;
		if (c->prev != NULL)
			c->prev->next = c->next;
		else
			h->conns = c->next;
		if (c->next != NULL)
			c->next->prev = c->prev;
		free(c);
		*socket_context = NULL;
		if (h->conns == NULL)
			ev_timer_stop(h->loop, &h->sweep);
		return;
	}
	if ((ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD)) == NULL)
		return;
	if (sndbuf > 0 && setsockopt(ci->connect_fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) == -1)
		log_debug("%s: cannot set the send buffer of a connection (%s)", h->what, strerror(errno));
	/* Untracked when out of memory: MHD's own timeout still holds it. */
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return;
	c->h = h;
	c->fd = ci->connect_fd;
	c->since = ev_now(h->loop);
	c->next = h->conns;
	if (h->conns != NULL)
		h->conns->prev = c;
	h->conns = c;
	*socket_context = c;
	if (!ev_is_active(&h->sweep))
		ev_timer_again(h->loop, &h->sweep);
}

/* A request completed (answered or not): the next one on the connection is timed from now. */
static void on_completed(void *cls, struct MHD_Connection *mc, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct httpd *h = cls;

	(void)toe;
	if (ci != NULL && ci->socket_context != NULL)
		((struct conn *)ci->socket_context)->since = ev_now(h->loop);
	if (h->completed != NULL)
		h->completed(h->hcls, mc, req_cls, toe);
}

void httpd_request_read(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	if (ci != NULL && ci->socket_context != NULL)
		((struct conn *)ci->socket_context)->since = 0;
}

/*
 * Shuts down the sockets of connections whose request is overdue: MHD sees
 * the end of the stream at its next run and closes them (it offers no call
 * to close a connection from outside its callbacks).
 */
static void on_sweep(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct httpd *h = w->data;
	double now = ev_now(loop);
	int n = 0;

	(void)revents;
	for (struct conn *c = h->conns; c != NULL; c = c->next)
		if (c->since > 0 && now - c->since > h->request_time && c->fd >= 0) {
			shutdown(c->fd, SHUT_RDWR);
			c->fd = -1;	/* once */
			n++;
		}
	if (n > 0)
		log_debug("%s: %d connection(s) closed: no whole request within %.0fs", h->what, n,
		    h->request_time);
}

/* Arms the timer for MHD's next connection timeout or the caller's tick, whichever is first; neither stops it. */
static void arm(struct httpd *h, double tick_after)
{
	MHD_UNSIGNED_LONG_LONG ms;
	double after = tick_after;

	ev_timer_stop(h->loop, &h->timer);
	if (MHD_get_timeout(h->mhd, &ms) == MHD_YES && (after < 0 || ms / 1000.0 < after))
		after = ms / 1000.0;
	if (after >= 0) {
		ev_timer_set(&h->timer, after, 0.);
		ev_timer_start(h->loop, &h->timer);
	}
}

/* MHD_run() never waits here: in external epoll mode it polls with a zero timeout. */
static void serve(struct httpd *h)
{
	MHD_run(h->mhd);
	arm(h, h->tick != NULL ? h->tick(h->tick_arg) : -1);
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

struct httpd *httpd_new(struct ev_loop *loop, const char *what, const char *listen,
    const struct httpd_limits *lim, unsigned flags, MHD_AccessHandlerCallback handler,
    MHD_RequestCompletedCallback completed, void *hcls, char **err)
{
	struct httpd *h = NULL;
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	const char *why;
	unsigned port;
	int v6;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		err_set(err, "%s %s: out of memory", what, listen);
		return NULL;
	}
	if (addr_listen(listen, &ss, &v6, &port, h->name, sizeof(h->name), &why) == -1) {
		err_set(err, "%s %s: %s", what, listen, why);
		goto fail;
	}
	h->loop = loop;
	h->what = what;
	h->sndbuf = lim->sndbuf;
	h->request_time = lim->request_time;
	h->completed = completed;
	h->hcls = hcls;
	ev_init(&h->sweep, on_sweep);
	h->sweep.repeat = HTTPD_SWEEP;
	h->sweep.data = h;
	h->starting = 1;
	/* MHD binds at once, with SO_REUSEADDR: a restart does not wait for TIME_WAIT. */
	h->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0) | flags,
	    (uint16_t)port, NULL, NULL, handler, hcls,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_CONNECTION_TIMEOUT, lim->timeout,
	    MHD_OPTION_CONNECTION_LIMIT, lim->connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, lim->per_ip,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, lim->memory,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
	    MHD_OPTION_END);
	h->starting = 0;
	if (h->mhd == NULL) {
		err_set(err, "%s %s: cannot listen (%s)", what, h->name,
		    h->start_err != NULL ? h->start_err : "libmicrohttpd did not start");
		goto fail;
	}
	if ((info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD)) == NULL) {
		err_set(err, "%s %s: libmicrohttpd has no epoll fd", what, h->name);
		goto fail;
	}
	ev_io_init(&h->io, on_io, info->epoll_fd, EV_READ);
	h->io.data = h;
	ev_io_start(loop, &h->io);
	ev_init(&h->timer, on_timer);
	h->timer.data = h;
	arm(h, -1);
	return h;
fail:
	httpd_free(h);
	return NULL;
}

void httpd_free(struct httpd *h)
{
	if (h == NULL)
		return;
	if (h->mhd != NULL) {
		ev_io_stop(h->loop, &h->io);
		ev_timer_stop(h->loop, &h->timer);
		MHD_stop_daemon(h->mhd);	/* drops the references of connections still open */
	}
	ev_timer_stop(h->loop, &h->sweep);
	free(h->start_err);
	free(h);
}

void httpd_set_tick(struct httpd *h, httpd_tick_fn *tick, void *arg)
{
	h->tick = tick;
	h->tick_arg = arg;
	arm(h, tick != NULL ? tick(arg) : -1);
}

const char *httpd_name(const struct httpd *h)
{
	return h->name;
}

void httpd_wake(struct httpd *h)
{
	arm(h, 0);
}

enum MHD_Result httpd_text(struct MHD_Connection *conn, unsigned code, const char *text,
    const char *allow)
{
	struct MHD_Response *resp;
	enum MHD_Result rc;

	resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain") != MHD_YES ||
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES ||
	    (allow != NULL && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES)) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	rc = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return rc;
}
