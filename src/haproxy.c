/* haproxy — see haproxy.h. */
#include "haproxy.h"
#include "haproxy-cfg.h"
#include "fsroot.h"
#include "log.h"
#include "metrics.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <uthash.h>

#define OCSP_PREFIX	"set ssl ocsp-response "
#define PROMPT_END	"\n> "
#define WRITE_IOV	64
#define READS_PER_WAKEUP 16	/* reads of HAPROXY_ANSWER_MAX before the loop gets a turn */
#define ANSWER_LOG_MAX	300	/* bytes of an unexpected answer worth logging */

enum sock_state {
	SOCK_IDLE = 0,		/* not started yet */
	SOCK_CONNECTING,	/* connect() in progress (or about to be tried) */
	SOCK_UP,		/* prompt mode, commands flow */
	SOCK_DOWN,		/* waiting for the reconnect timer */
	SOCK_GAVE_UP,		/* --one-off: could not connect, not retried */
};

/* Why a connection ends: decides the reconnect delay, the log, the metrics. */
enum sock_loss {
	LOSS_GONE = 0,		/* closed, refused, absent: HAProxy restarting or not there yet */
	LOSS_STOPPING,		/* "Stopping: 1": the process is being replaced */
	LOSS_BROKEN,		/* no answer in time, out of step, oversized: the peer misbehaves */
};

enum cmd_kind {
	CMD_CTRL = 0,		/* prompt, set timeout: expect an empty answer */
	CMD_PROBE,		/* show info: is this process stopping? */
	CMD_OCSP,		/* set ssl ocsp-response */
	CMD_SET,		/* set ssl cert <crt>.ocsp (fallback, step 1) */
	CMD_COMMIT,		/* commit ssl cert <crt> (fallback, step 2) */
	CMD_ABORT,		/* abort ssl cert <crt> after a failed commit */
	CMD_WSET,		/* withdrawal: set ssl cert <crt> << bundle (read when written) */
	CMD_WCOMMIT,		/* withdrawal: commit ssl cert <crt> */
};

struct haproxy_cmd {
	struct haproxy_cmd *next;	/* next in the FIFO */
	enum cmd_kind kind;		/* what the answer is checked against */
	int quiet;			/* an error here was already reported */
	char *cert;			/* certificate path, for logs (NULL for CTRL/PROBE) */
	char *name;			/* the certificate as HAProxy loaded it */
	size_t len;			/* bytes of text (CMD_WSET: of secret once loaded) */
	char *secret;			/* CMD_WSET: the command with the bundle, only while being written */
	struct deliver_ident ident;	/* CMD_WSET: the file as parsed */
	int loaded;			/* CMD_WSET: secret was built (and maybe wiped since) */
	char text[];			/* the command line(s), "\n"-terminated */
};

struct haproxy_sock {
	struct haproxy *h;		/* owner */
	struct haproxy_sock *next;	/* next socket of h */
	char *path;			/* admin socket path */
	enum sock_state state;		/* see enum sock_state */
	int fd;				/* connection, -1 when not connected */
	ev_io rio;			/* readable */
	ev_io wio;			/* writable (connect completion, output pending) */
	ev_timer timer;			/* reconnect backoff, then idle probe */
	ev_timer deadline;		/* the oldest unanswered command (or the connect) times out */
	double backoff;			/* next reconnect delay (s) */
	int failures;			/* connections lost in a row without one proving itself */
	double up_at;			/* ev_now() when the connection came up */
	int live;			/* "show info" answered by a running HAProxy on this connection */
	long pid;			/* HAProxy pid from the last "show info" */
	int probing;			/* a "show info" is in flight */
	struct haproxy_cmd *head;	/* oldest command awaiting its answer */
	struct haproxy_cmd *unsent;	/* first command not completely written */
	struct haproxy_cmd *tail;	/* newest command */
	size_t woff;			/* bytes of unsent already written */
	int pending;			/* staple commands queued or unanswered */
	char *in;			/* bytes read, not yet a complete answer (HAPROXY_ANSWER_MAX) */
	size_t inlen;			/* bytes used in in */
	size_t scan;			/* bytes of in already searched for a prompt */
	unsigned long mark;		/* push generation: pushed once per staple */
};

struct haproxy_map {
	char *dir;			/* file or directory, as HAProxy names it */
	char *rdir;			/* realpath(dir), or NULL */
	struct haproxy_sock *sock;	/* where its certificates are pushed */
	struct haproxy_map *next;	/* next map of h */
};

struct haproxy {
	struct ev_loop *loop;		/* the event loop (borrowed) */
	int one_off;			/* give up on sockets that cannot connect */
	int serial;			/* haproxy_set_serial (benchmarks only): one command per round trip */
	deliver_foreach_fn *foreach;	/* enumerates every stored staple */
	void *ctx;			/* foreach's argument */
	struct haproxy_sock *socks;	/* every distinct socket */
	struct haproxy_map *maps;	/* every DIR -> SOCKET pair */
	unsigned long gen;		/* push generation counter */
	ev_timer start;			/* first connect, outside deliver_new */
	double probe_every;		/* seconds between "show info" on an idle connection */
	struct haproxy_map *before;	/* during a reload only: the maps being replaced */
	int failed;			/* --one-off: sockets given up after a connect (haproxy_failed) */
};

/* ================================================================ pure helpers */

enum haproxy_answer haproxy_classify(const char *a, size_t len)
{
	const char *end = a + len;

	/* In prompt mode each payload line is acknowledged with "+ ". */
	while (end - a >= 2 && a[0] == '+' && a[1] == ' ')
		a += 2;
	while (a < end && isspace((unsigned char)*a))
		a++;
	while (end > a && isspace((unsigned char)end[-1]))
		end--;
	len = (size_t)(end - a);
	if (len == 0)
		return HAPROXY_ANS_EMPTY;
	if (len >= 22 && memcmp(a, "OCSP Response updated!", 22) == 0)
		return HAPROXY_ANS_UPDATED;
	if (memmem(a, len, "does not match any certificate or issuer", 40) != NULL)
		return HAPROXY_ANS_NOT_LOADED;
	if (len >= 35 && memcmp(a, "Transaction created for certificate", 35) == 0)
		return HAPROXY_ANS_TRANSACTION;
	if (memmem(a, len, "Success!", 8) != NULL && memmem(a, len, "Error", 5) == NULL &&
	    memmem(a, len, "Can't", 5) == NULL)
		return HAPROXY_ANS_COMMITTED;
	return HAPROXY_ANS_OTHER;
}

const char *haproxy_path_under(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		return path[0] == '/' ? path : NULL;
	if (strncmp(dir, path, n) != 0)
		return NULL;
	if (path[n] == '\0' || path[n] == '/')
		return path + n;
	return NULL;
}

int haproxy_quote_arg(const char *arg, char *out, size_t size, char **err)
{
	size_t o = 0;

	if (arg[0] == '\0') {
		err_set(err, "empty name");
		return -1;
	}
	for (const unsigned char *p = (const unsigned char *)arg; *p != '\0'; p++) {
		int plain = *p >= 0x80 || isalnum(*p) || strchr("/._+=,:@%~-", *p) != NULL;

		if (*p < 0x20 || *p == 0x7f) {
			err_set(err, "control byte 0x%02x in the name: the HAProxy CLI cannot take it", *p);
			return -1;
		}
		if (o + 2 + !plain > size) {
			err_set(err, "name too long for the HAProxy CLI");
			return -1;
		}
		if (!plain)
			out[o++] = '\\';
		out[o++] = (char)*p;
	}
	out[o] = '\0';
	return (int)o;
}

char *haproxy_pem_payload(const char *text, size_t len, size_t *outlen, char **err)
{
	const char *p = text, *end = text + len;
	char *out = NULL;
	size_t o = 0;
	int inside = 0, blocks = 0;

	/* Never more than the input plus one "\n". */
	if ((out = malloc(len + 2)) == NULL) {
		err_set(err, "out of memory");
		return NULL;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;
		size_t n = (size_t)(le - p);

		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (!inside && n >= 11 && memcmp(p, "-----BEGIN ", 11) == 0)
			inside = 1;
		if (inside && n > 0) {
			for (size_t i = 0; i < n; i++) {
				if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] >= 0x7f) {
					err_set(err, "a control or non-ASCII byte inside a PEM block");
					goto fail;
				}
			}
			memcpy(out + o, p, n);
			o += n;
			out[o++] = '\n';
			if (n >= 9 && memcmp(p, "-----END ", 9) == 0) {
				inside = 0;
				blocks++;
			}
		}
		p = nl != NULL ? nl + 1 : end;
	}
	if (inside) {
		err_set(err, "a PEM block without its END line");
		goto fail;
	}
	if (blocks == 0) {
		err_set(err, "no PEM block");
		goto fail;
	}
	*outlen = o;
	return out;
fail:
	OPENSSL_cleanse(out, len + 2);
	free(out);
	return NULL;
}

/* "OCSP Response updated!\n" -> "OCSP Response updated!" on one line, bounded. */
static void answer_line(const char *a, size_t len, char *buf, size_t size)
{
	size_t o = 0;

	while (len >= 2 && a[0] == '+' && a[1] == ' ') {
		a += 2;
		len -= 2;
	}
	while (len > 0 && isspace((unsigned char)a[len - 1]))
		len--;
	for (size_t i = 0; i < len && o + 4 < size; i++) {
		if (a[i] == '\n') {
			buf[o++] = ' ';
			buf[o++] = '/';
			buf[o++] = ' ';
		} else {
			buf[o++] = isprint((unsigned char)a[i]) ? a[i] : '?';
		}
	}
	buf[o] = '\0';
}

/* ================================================================ connections */

static void sock_connect(struct haproxy_sock *s);
static void sock_flush(struct haproxy_sock *s);

/* Wipes a bundle still held by a withdrawal (partly written when the connection went). */
static void cmd_wipe(struct haproxy_cmd *c)
{
	if (c->secret != NULL) {
		OPENSSL_cleanse(c->secret, c->len);
		free(c->secret);
		c->secret = NULL;
	}
}

static void cmd_free(struct haproxy_cmd *c)
{
	cmd_wipe(c);
	free(c->cert);
	free(c->name);
	free(c);
}

static void cmd_free_all(struct haproxy_sock *s)
{
	struct haproxy_cmd *c = s->head, *next;

	for (; c != NULL; c = next) {
		next = c->next;
		cmd_free(c);
	}
	s->head = s->unsent = s->tail = NULL;
	s->woff = 0;
	s->pending = 0;
	s->probing = 0;
}

/* The command as an operator would name it in a log line (no payload, no base64). */
static const char *cmd_name(const struct haproxy_cmd *c)
{
	if (c == NULL)
		return "nothing";
	switch (c->kind) {
	case CMD_CTRL:
		return strncmp(c->text, "prompt", 6) == 0 ? "prompt" : "set timeout cli";
	case CMD_PROBE:
		return "show info";
	case CMD_OCSP:
		return "set ssl ocsp-response";
	case CMD_SET:
		return "set ssl cert";
	case CMD_COMMIT:
		return "commit ssl cert";
	case CMD_ABORT:
		return "abort ssl cert";
	case CMD_WSET:
		return "set ssl cert (withdrawal)";
	case CMD_WCOMMIT:
		return "commit ssl cert (withdrawal)";
	}
	return "?";
}

/*
 * Appends one command (text given as up to three pieces, concatenated) to
 * the FIFO and starts writing. 0, or -1 on ENOMEM (logged).
 */
static int cmd_queue(struct haproxy_sock *s, enum cmd_kind kind,
    const char *cert, const char *name, const char *t1, size_t l1,
    const char *t2, size_t l2, const char *t3, size_t l3)
{
	struct haproxy_cmd *c = NULL;

	if ((c = calloc(1, sizeof(*c) + l1 + l2 + l3 + 1)) == NULL)
		goto nomem;
	c->kind = kind;
	if (cert != NULL && (c->cert = strdup(cert)) == NULL)
		goto nomem;
	if (name != NULL && (c->name = strdup(name)) == NULL)
		goto nomem;
	memcpy(c->text, t1, l1);
	if (l2 > 0)
		memcpy(c->text + l1, t2, l2);
	if (l3 > 0)
		memcpy(c->text + l1 + l2, t3, l3);
	c->len = l1 + l2 + l3;
	if (s->tail != NULL)
		s->tail->next = c;
	else
		s->head = c;
	s->tail = c;
	if (s->unsent == NULL)
		s->unsent = c;
	if (kind != CMD_CTRL && kind != CMD_PROBE)
		s->pending++;
	/* Written from the loop, so that a burst of pushes shares one writev(). */
	if (s->state == SOCK_UP) {
		ev_io_start(s->h->loop, &s->wio);
		/* The clock runs for the oldest command; one already waiting keeps its own. */
		if (!ev_is_active(&s->deadline))
			ev_timer_again(s->h->loop, &s->deadline);
	}
	return 0;
nomem:
	if (c != NULL) {
		free(c->cert);
		free(c->name);
	}
	free(c);
	log_err("%s: out of memory queueing a HAProxy command", s->path);
	return -1;
}

static int cmd_str(struct haproxy_sock *s, enum cmd_kind kind, const char *line)
{
	return cmd_queue(s, kind, NULL, NULL, line, strlen(line), NULL, 0, NULL, 0);
}

/* The bytes to write for c. */
static const char *cmd_bytes(const struct haproxy_cmd *c)
{
	return c->secret != NULL ? c->secret : c->text;
}

static int same_ident(const struct stat *st, const struct deliver_ident *id)
{
	return st->st_dev == id->dev && st->st_ino == id->ino && st->st_size == id->size &&
	    (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec == id->mtime_ns;
}

/*
 * Builds the withdrawal c (CMD_WSET) from the bundle on disk, just before
 * it is written: the file must still be the one parsed (checked before and
 * after the read), read as fsroot says, and only its PEM blocks are kept.
 * Every copy but c->secret is wiped here. 0, or -1 with *err (which never
 * quotes the file's contents).
 */
static int wset_load(struct haproxy_cmd *c, char **err)
{
	const char *base;
	struct stat before, after;
	unsigned char *buf = NULL;
	char *payload = NULL, arg[2 * PATH_MAX], head[2 * PATH_MAX + 32];
	size_t len = 0, plen = 0;
	int dfd = -1, configured, hl, rc = -1;
	char *perr = NULL;

	c->loaded = 1;
	if (haproxy_quote_arg(c->name, arg, sizeof(arg), &perr) == -1) {
		err_set(err, "its name cannot be passed to the HAProxy CLI (%s)", perr);
		goto out;
	}
	if ((hl = snprintf(head, sizeof(head), "set ssl cert %s <<\n", arg)) >= (int)sizeof(head)) {
		err_set(err, "certificate path too long for the HAProxy CLI");
		goto out;
	}
	if ((dfd = fsroot_open_dir(c->cert, &base, &configured, err)) == -1)
		goto out;
	if (fstatat(dfd, base, &before, 0) == -1) {
		err_set(err, "cannot stat the certificate file (%s)", strerror(errno));
		goto out;
	}
	if (!same_ident(&before, &c->ident))
		goto changed;
	if (fsroot_read(c->cert, FSROOT_OWNED, 16 * HAPROXY_PEM_MAX, &buf, &len, &perr) != 0) {
		err_set(err, "%s", perr);
		goto out;
	}
	if (fstatat(dfd, base, &after, 0) == -1 || !same_ident(&after, &c->ident))
		goto changed;
	if ((payload = haproxy_pem_payload((const char *)buf, len, &plen, &perr)) == NULL) {
		err_set(err, "the bundle cannot be sent (%s)", perr);
		goto out;
	}
	if (plen > HAPROXY_PEM_MAX) {
		err_set(err, "its PEM blocks are %zu bytes, more than the %d a HAProxy CLI payload holds",
		    plen, HAPROXY_PEM_MAX);
		goto out;
	}
	if ((c->secret = malloc((size_t)hl + plen + 1)) == NULL) {
		err_set(err, "out of memory");
		goto out;
	}
	memcpy(c->secret, head, (size_t)hl);
	memcpy(c->secret + hl, payload, plen);
	c->secret[(size_t)hl + plen] = '\n';	/* the blank line that ends the payload */
	c->len = (size_t)hl + plen + 1;
	rc = 0;
	goto out;
changed:
	err_set(err, "the certificate file changed since it was parsed; it is checked again first");
out:
	free(perr);
	if (buf != NULL) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	if (payload != NULL) {
		OPENSSL_cleanse(payload, plen);
		free(payload);
	}
	if (dfd != -1)
		close(dfd);
	return rc;
}

/* Takes withdrawal c (a CMD_WSET not written yet) and the commit after it out of s's FIFO. */
static void wset_drop(struct haproxy_sock *s, struct haproxy_cmd *c)
{
	struct haproxy_cmd *commit = c->next, *after, *prev = NULL, **pp = &s->head;

	if (commit != NULL && commit->kind != CMD_WCOMMIT)
		commit = NULL;
	after = commit != NULL ? commit->next : c->next;
	for (; *pp != c; pp = &(*pp)->next)
		prev = *pp;
	*pp = after;
	if (after == NULL)
		s->tail = prev;
	if (s->unsent == c)
		s->unsent = after;
	s->pending -= commit != NULL ? 2 : 1;
	cmd_free(c);
	if (commit != NULL)
		cmd_free(commit);
	if (s->head == NULL)
		ev_timer_stop(s->h->loop, &s->deadline);
}

/*
 * Closes the connection (why: the reason, for the log) and retries with
 * backoff, or gives up with --one-off. The backoff only starts over when
 * the connection being closed had proven itself (see HAPROXY_PROVEN_AFTER):
 * a peer that accepts and then fails, whatever way, is retried ever more
 * slowly, and only the first failure of a run is logged above debug.
 */
static void sock_lost(struct haproxy_sock *s, const char *why, enum sock_loss kind)
{
	struct haproxy *h = s->h;
	int unanswered = s->pending, failed = 0;
	int was_up = s->state == SOCK_UP;
	int proven = was_up && s->live && ev_now(h->loop) - s->up_at >= HAPROXY_PROVEN_AFTER;
	double delay;

	/*
	 * Unanswered pushes are normally pushed again after the reconnect, and
	 * counted then; they fail here when the peer broke its side of the
	 * protocol, or with --one-off (no second chance). One per staple: a
	 * direct push, or the commit that ends a "set ssl cert" (always queued
	 * behind its set).
	 */
	if (h->one_off || kind == LOSS_BROKEN) {
		for (struct haproxy_cmd *c = s->head; c != NULL; c = c->next) {
			if (c->kind == CMD_OCSP || c->kind == CMD_COMMIT || c->kind == CMD_WCOMMIT) {
				metrics_push(METRICS_PUSH_FAILED);
				failed++;
			}
		}
	}

	ev_io_stop(h->loop, &s->rio);
	ev_io_stop(h->loop, &s->wio);
	ev_timer_stop(h->loop, &s->timer);
	ev_timer_stop(h->loop, &s->deadline);
	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
	cmd_free_all(s);
	s->inlen = 0;
	s->scan = 0;
	s->live = 0;
	if (h->one_off) {
		s->state = SOCK_GAVE_UP;
		if (was_up || kind == LOSS_BROKEN)
			h->failed++;
		log_err("%s: HAProxy admin socket unusable (%s)%s; giving up (--one-off)",
		    s->path, why, unanswered > 0 ? ", staples not confirmed" : "");
		return;
	}
	s->state = SOCK_DOWN;
	if (proven) {
		s->backoff = HAPROXY_BACKOFF_MIN;
		s->failures = 0;
	}
	s->failures++;
	if (kind == LOSS_STOPPING && proven) {
		delay = HAPROXY_SUCCESSOR_DELAY;	/* a reload: its successor is there already */
	} else {
		delay = s->backoff;
		s->backoff *= 2;
		if (s->backoff > HAPROXY_BACKOFF_MAX)
			s->backoff = HAPROXY_BACKOFF_MAX;
	}
	/* Say it once per run of failures, and again only now and then at the cap. */
	if (kind == LOSS_STOPPING && proven)
		log_info("%s: HAProxy %s; reconnecting to its successor", s->path, why);
	else if (s->failures == 1 && kind == LOSS_BROKEN)
		log_err("%s: HAProxy admin socket %s; closed%s, reconnecting with backoff", s->path,
		    why, failed > 0 ? ", its unanswered pushes counted as failed" : "");
	else if (s->failures == 1 && was_up)
		log_warn("%s: HAProxy admin connection lost (%s)%s; reconnecting, then pushing "
		    "every staple again", s->path, why,
		    unanswered > 0 ? " with staples unconfirmed" : "");
	else if (s->failures == 1)
		log_warn("%s: HAProxy admin socket unavailable (%s); retrying with backoff",
		    s->path, why);
	else if (delay >= HAPROXY_BACKOFF_MAX && s->failures % 20 == 0)
		log_warn("%s: HAProxy admin socket still unusable (%s) after %d attempts",
		    s->path, why, s->failures);
	else
		log_debug("%s: reconnect in %.1f s (%s)", s->path, delay, why);
	ev_timer_set(&s->timer, delay, 0.);
	ev_timer_start(h->loop, &s->timer);
}

/*
 * Pushes one staple to only (NULL: every socket), through every map that
 * holds it; fresh: not if only already served it before the reload
 * (h->before holds it for only).
 */
static void push_to(struct haproxy *h, struct haproxy_sock *only, int fresh,
    const char *certpath, const unsigned char *der, size_t len);

/* foreach callback after a (re)connect: every staple of s's certificates. */
static void repush_one(void *arg, const char *certpath,
    const unsigned char *der, size_t len)
{
	struct haproxy_sock *s = arg;

	push_to(s->h, s, 0, certpath, der, len);
}

/* foreach callback after a reload: the staples s did not serve before it. */
static void repush_fresh(void *arg, const char *certpath,
    const unsigned char *der, size_t len)
{
	struct haproxy_sock *s = arg;

	push_to(s->h, s, 1, certpath, der, len);
}

static void sock_up(struct haproxy_sock *s)
{
	struct haproxy *h = s->h;

	s->state = SOCK_UP;
	s->up_at = ev_now(h->loop);
	s->live = 0;
	/* A connect proves nothing yet (see sock_lost): failures and backoff stay. */
	if (s->failures == 0)
		log_info("%s: HAProxy admin socket connected", s->path);
	else
		log_debug("%s: HAProxy admin socket connected (attempt %d)", s->path, s->failures + 1);
	ev_io_start(h->loop, &s->rio);
	ev_timer_again(h->loop, &s->deadline);
	cmd_str(s, CMD_CTRL, "prompt\n");
	cmd_str(s, CMD_CTRL, "set timeout cli " HAPROXY_CLI_TIMEOUT "\n");
	if (!h->one_off) {
		cmd_str(s, CMD_PROBE, "show info\n");
		s->probing = 1;
		ev_timer_set(&s->timer, h->probe_every, h->probe_every);
		ev_timer_start(h->loop, &s->timer);
	}
	/* A new process (or the first connection): it gets every staple we hold. */
	if (h->foreach != NULL)
		h->foreach(h->ctx, repush_one, s);
}

static void sock_connect(struct haproxy_sock *s)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(s->path) >= sizeof(sun.sun_path)) {
		s->state = SOCK_CONNECTING;
		s->backoff = HAPROXY_BACKOFF_MAX;	/* it will not get shorter */
		sock_lost(s, "path too long for a unix socket", LOSS_GONE);
		return;
	}
	memcpy(sun.sun_path, s->path, strlen(s->path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		s->state = SOCK_CONNECTING;
		sock_lost(s, strerror(errno), LOSS_GONE);
		return;
	}
	s->fd = fd;
	s->state = SOCK_CONNECTING;
	ev_io_set(&s->rio, fd, EV_READ);
	ev_io_set(&s->wio, fd, EV_WRITE);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		sock_up(s);
		return;
	}
	if (errno == EINPROGRESS || errno == EAGAIN) {
		ev_io_start(s->h->loop, &s->wio);
		ev_timer_again(s->h->loop, &s->deadline);
		return;
	}
	sock_lost(s, strerror(errno), LOSS_GONE);
}

/* Writes what it can of the unsent commands; keeps wio on while some remain. */
static void sock_flush(struct haproxy_sock *s)
{
	struct haproxy *h = s->h;

	while (s->unsent != NULL) {
		struct iovec iov[WRITE_IOV];
		struct msghdr msg;
		struct haproxy_cmd *c;
		size_t off = s->woff;
		int n = 0;
		ssize_t w;

		/* Bench mode: wait for every answer before the next command. */
		if (h->serial && s->head != s->unsent)
			break;
		/* A withdrawal's bundle is read only when its turn to be written has come. */
		if (s->unsent->kind == CMD_WSET && !s->unsent->loaded) {
			char *err = NULL;

			if (wset_load(s->unsent, &err) == -1) {
				log_err("%s: staple not withdrawn from HAProxy %s (%s)", s->unsent->cert,
				    s->path, err);
				free(err);
				metrics_push(METRICS_PUSH_FAILED);
				wset_drop(s, s->unsent);
				continue;
			}
		}
		for (c = s->unsent; c != NULL && n < WRITE_IOV; c = c->next) {
			if (c->kind == CMD_WSET && !c->loaded)
				break;	/* loaded at its turn, above */
			iov[n].iov_base = (char *)cmd_bytes(c) + off;
			iov[n].iov_len = c->len - off;
			off = 0;
			n++;
			if (h->serial)
				break;
		}
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t)n;
		/* MSG_NOSIGNAL: a HAProxy gone away is an error to handle, not a SIGPIPE. */
		w = sendmsg(s->fd, &msg, MSG_NOSIGNAL);
		if (w == -1) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			sock_lost(s, strerror(errno), LOSS_GONE);
			return;
		}
		while (w > 0 && s->unsent != NULL) {
			size_t left = s->unsent->len - s->woff;

			if ((size_t)w < left) {
				s->woff += (size_t)w;
				w = 0;
			} else {
				w -= (ssize_t)left;
				s->woff = 0;
				cmd_wipe(s->unsent);	/* the bundle is HAProxy's now, not ours */
				s->unsent = s->unsent->next;
			}
		}
	}
	if (s->unsent != NULL && !(h->serial && s->head != s->unsent))
		ev_io_start(h->loop, &s->wio);
	else
		ev_io_stop(h->loop, &s->wio);
}

/* "show info": 0, or -1 when the connection was closed (stopping, or not a HAProxy answer). */
static int on_probe(struct haproxy_sock *s, const char *a, size_t len)
{
	const char *p;
	long pid = 0;
	char why[64];

	s->probing = 0;
	if ((p = memmem(a, len, "Pid: ", 5)) != NULL)
		pid = strtol(p + 5, NULL, 10);
	if (pid <= 0) {
		/* Every HAProxy answer to "show info" names its pid: this one belongs to no command. */
		sock_lost(s, "answered \"show info\" without a Pid (out of step with our commands)",
		    LOSS_BROKEN);
		return -1;
	}
	if (pid != s->pid) {
		if (s->pid != 0)
			log_info("%s: HAProxy process %ld replaced %ld", s->path, pid, s->pid);
		s->pid = pid;
	}
	/* A reloading HAProxy keeps its old process alive while we stay connected. */
	if (memmem(a, len, "\nStopping: 1", 12) != NULL) {
		snprintf(why, sizeof(why), "process %ld is stopping", pid);
		sock_lost(s, why, LOSS_STOPPING);
		return -1;
	}
	if (!s->live && s->failures > 0)
		log_info("%s: HAProxy admin socket answering again (process %ld) after %d failed "
		    "attempt%s", s->path, pid, s->failures, s->failures == 1 ? "" : "s");
	s->live = 1;
	return 0;
}

/*
 * The certificate loaded without .ocsp: "set ssl cert <name>.ocsp" with the
 * staple as payload, then "commit ssl cert <name>". The name comes from a
 * file name anyone with write access to a watched directory chose: it is
 * escaped as one CLI argument, or the staple is refused for it alone.
 */
static void push_fallback(struct haproxy_sock *s, struct haproxy_cmd *c)
{
	const char *b64 = c->text + strlen(OCSP_PREFIX);
	size_t blen = c->len - strlen(OCSP_PREFIX) - 1;
	char arg[2 * PATH_MAX], head[2 * PATH_MAX + 32], commit[2 * PATH_MAX + 32];
	char *err = NULL;
	int hl, cl;

	if (haproxy_quote_arg(c->name, arg, sizeof(arg), &err) == -1) {
		log_err("%s: HAProxy %s loaded it without .ocsp, and its name cannot be passed to the "
		    "HAProxy CLI (%s); staple not attached", c->cert, s->path, err);
		free(err);
		metrics_push(METRICS_PUSH_FAILED);
		return;
	}
	hl = snprintf(head, sizeof(head), "set ssl cert %s.ocsp <<\n", arg);
	cl = snprintf(commit, sizeof(commit), "commit ssl cert %s\n", arg);
	if (hl >= (int)sizeof(head) || cl >= (int)sizeof(commit)) {
		log_err("%s: certificate path too long for the HAProxy CLI", c->cert);
		metrics_push(METRICS_PUSH_FAILED);
		return;
	}
	log_debug("%s: HAProxy %s loaded it without .ocsp; attaching the staple", c->cert, s->path);
	/* Both written back to back: no other transaction can slip in between. */
	if (cmd_queue(s, CMD_SET, c->cert, c->name, head, (size_t)hl, b64, blen, "\n\n", 2) == -1 ||
	    cmd_queue(s, CMD_COMMIT, c->cert, c->name, commit, (size_t)cl, NULL, 0, NULL, 0) == -1)
		metrics_push(METRICS_PUSH_FAILED);	/* the commit counts the outcome otherwise */
}

/*
 * One complete answer a/len for the command at the head of the FIFO (the
 * caller checked there is one). 0, or -1 when the connection was closed.
 */
static int on_answer(struct haproxy_sock *s, const char *a, size_t len)
{
	struct haproxy_cmd *c = s->head;
	enum haproxy_answer ans = haproxy_classify(a, len);
	char line[ANSWER_LOG_MAX], why[ANSWER_LOG_MAX + 96];
	char arg[2 * PATH_MAX], abort_cmd[2 * PATH_MAX + 32];
	int n, rc = 0;

	answer_line(a, len, line, sizeof(line));
	/*
	 * HAProxy always says something to a push: nothing at all is a stray
	 * prompt, and taking it would shift every later answer onto the wrong
	 * command. The connection is out of step: start over.
	 */
	if (ans == HAPROXY_ANS_EMPTY && (c->kind == CMD_OCSP || c->kind == CMD_SET ||
	    c->kind == CMD_COMMIT || c->kind == CMD_WSET || c->kind == CMD_WCOMMIT)) {
		snprintf(why, sizeof(why), "answered \"%s\" with nothing (out of step with our "
		    "commands)", cmd_name(c));
		sock_lost(s, why, LOSS_BROKEN);
		return -1;
	}
	s->head = c->next;
	if (s->head == NULL)
		s->tail = NULL;
	if (c->kind != CMD_CTRL && c->kind != CMD_PROBE)
		s->pending--;
	switch (c->kind) {
	case CMD_CTRL:
		if (ans != HAPROXY_ANS_EMPTY)
			log_warn("%s: HAProxy answered \"%.*s\" with: %s", s->path,
			    (int)strcspn(c->text, "\n"), c->text, line);
		break;
	case CMD_PROBE:
		rc = on_probe(s, a, len);
		break;
	case CMD_OCSP:
		if (ans == HAPROXY_ANS_UPDATED) {
			log_debug("%s: staple pushed to HAProxy %s", c->cert, s->path);
			metrics_push(METRICS_PUSH_UPDATED);
		} else if (ans == HAPROXY_ANS_NOT_LOADED && c->name != NULL) {
			push_fallback(s, c);
		} else {
			log_err("%s: HAProxy %s refused the staple (%s)", c->cert, s->path, line);
			metrics_push(METRICS_PUSH_FAILED);
		}
		break;
	case CMD_SET:
		if (ans != HAPROXY_ANS_TRANSACTION) {
			log_err("%s: HAProxy %s refused the staple for %s.ocsp (%s)",
			    c->cert, s->path, c->name, line);
			if (c->next != NULL && c->next->kind == CMD_COMMIT)
				c->next->quiet = 1;
		}
		break;
	case CMD_WSET:
		if (ans != HAPROXY_ANS_TRANSACTION) {
			log_err("%s: HAProxy %s refused to re-load %s without its staple (%s)",
			    c->cert, s->path, c->name, line);
			if (c->next != NULL && c->next->kind == CMD_WCOMMIT)
				c->next->quiet = 1;
		}
		break;
	case CMD_COMMIT:
	case CMD_WCOMMIT:
		/* The fallback's outcome, counted once here (a failed set makes the commit fail). */
		if (ans == HAPROXY_ANS_COMMITTED) {
			if (c->kind == CMD_WCOMMIT)
				log_info("%s: staple withdrawn from HAProxy %s", c->cert, s->path);
			else
				log_info("%s: staple attached in HAProxy %s (loaded without .ocsp)",
				    c->cert, s->path);
			metrics_push(METRICS_PUSH_COMMITTED);
		} else {
			metrics_push(METRICS_PUSH_FAILED);
			if (!c->quiet)
				log_err("%s: HAProxy %s could not commit %s (%s)",
				    c->cert, s->path, c->name, line);
			/* Never leave a transaction open: it would capture the next one. */
			if (haproxy_quote_arg(c->name, arg, sizeof(arg), NULL) != -1 &&
			    (n = snprintf(abort_cmd, sizeof(abort_cmd), "abort ssl cert %s\n", arg)) <
			    (int)sizeof(abort_cmd))
				cmd_queue(s, CMD_ABORT, c->cert, c->name, abort_cmd, (size_t)n,
				    NULL, 0, NULL, 0);
		}
		break;
	case CMD_ABORT:
		log_debug("%s: abort ssl cert: %s", c->cert, line);
		break;
	}
	cmd_free(c);
	return rc;
}

/*
 * Answers with no command written to answer (a/len: the first of them and
 * everything buffered after it): the peer is out of step. One line with
 * their count, and the connection is closed, so that no later command can
 * ever be matched with one of them.
 */
static void out_of_step(struct haproxy_sock *s, const char *a, size_t len)
{
	char line[80], why[200];
	const char *p = a, *end = a + len, *q;
	int n = 0;

	answer_line(a, (size_t)((q = memmem(a, len, PROMPT_END, 3)) != NULL ? q - a : 0),
	    line, sizeof(line));
	for (; (q = memmem(p, (size_t)(end - p), PROMPT_END, 3)) != NULL; p = q + 3)
		n++;
	snprintf(why, sizeof(why), "sent %d answer%s to no command (first: \"%s\")", n,
	    n == 1 ? "" : "s", line);
	sock_lost(s, why, LOSS_BROKEN);
}

/*
 * The complete answers in s->in, each for the oldest command; only bytes
 * not searched before are searched for the prompt. 0, or -1 when the
 * connection was closed meanwhile.
 */
static int sock_answers(struct haproxy_sock *s)
{
	size_t start = 0, from = s->scan;
	int answered = 0;

	/* Answers end with "\n> "; everything before is the answer text. */
	for (;;) {
		char *end = memmem(s->in + from, s->inlen - from, PROMPT_END, 3);

		if (end == NULL)
			break;
		if (s->head == NULL || s->head == s->unsent) {
			out_of_step(s, s->in + start, s->inlen - start);
			return -1;
		}
		if (on_answer(s, s->in + start, (size_t)(end - (s->in + start))) == -1)
			return -1;
		answered = 1;
		start = from = (size_t)(end - s->in) + 3;
	}
	if (start > 0) {
		memmove(s->in, s->in + start, s->inlen - start);
		s->inlen -= start;
	}
	/* A prompt split across two reads starts in the last two bytes. */
	s->scan = s->inlen >= 2 ? s->inlen - 2 : 0;
	if (answered) {
		/* Progress: the next command's clock starts now. */
		if (s->head != NULL)
			ev_timer_again(s->h->loop, &s->deadline);
		else
			ev_timer_stop(s->h->loop, &s->deadline);
	}
	return 0;
}

static void on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct haproxy_sock *s = w->data;
	char why[96];

	(void)loop;
	(void)revents;
	if (s->in == NULL && (s->in = malloc(HAPROXY_ANSWER_MAX)) == NULL) {
		sock_lost(s, "out of memory", LOSS_GONE);
		return;
	}
	/* A bounded number of reads: a peer that never stops does not hold the loop. */
	for (int i = 0; i < READS_PER_WAKEUP; i++) {
		size_t room = HAPROXY_ANSWER_MAX - s->inlen;
		ssize_t r = read(s->fd, s->in + s->inlen, room);

		if (r == 0) {
			sock_lost(s, "connection closed by HAProxy", LOSS_GONE);
			return;
		}
		if (r == -1) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			sock_lost(s, strerror(errno), LOSS_GONE);
			return;
		}
		s->inlen += (size_t)r;
		if (sock_answers(s) == -1)
			return;
		if (s->inlen == HAPROXY_ANSWER_MAX) {
			snprintf(why, sizeof(why), "sent %d bytes without a prompt (an answer is "
			    "limited to that)", HAPROXY_ANSWER_MAX);
			sock_lost(s, why, LOSS_BROKEN);
			return;
		}
		if ((size_t)r < room)
			break;
	}
	if (s->h->serial)
		sock_flush(s);
}

static void on_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct haproxy_sock *s = w->data;
	int e = 0;
	socklen_t el = sizeof(e);

	(void)loop;
	(void)revents;
	if (s->state == SOCK_CONNECTING) {
		ev_io_stop(s->h->loop, &s->wio);
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &el) == -1)
			e = errno;
		if (e != 0) {
			sock_lost(s, strerror(e), LOSS_GONE);
			return;
		}
		sock_up(s);
		return;
	}
	sock_flush(s);
}

/* The oldest command (or the connect) ran out of time: the peer is not a working HAProxy. */
static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct haproxy_sock *s = w->data;
	char why[96];

	(void)loop;
	(void)revents;
	if (s->state == SOCK_CONNECTING)
		snprintf(why, sizeof(why), "did not accept the connection within %.0f s",
		    HAPROXY_ANSWER_TIMEOUT);
	else
		snprintf(why, sizeof(why), "did not answer \"%s\" within %.0f s",
		    cmd_name(s->head), HAPROXY_ANSWER_TIMEOUT);
	sock_lost(s, why, LOSS_BROKEN);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct haproxy_sock *s = w->data;

	(void)loop;
	(void)revents;
	if (s->state == SOCK_UP) {
		if (!s->probing) {
			s->probing = 1;
			cmd_str(s, CMD_PROBE, "show info\n");
		}
		return;
	}
	if (s->state == SOCK_DOWN || s->state == SOCK_IDLE)
		sock_connect(s);
}

/* ================================================================ public */

static void on_start(struct ev_loop *loop, ev_timer *w, int revents);

struct haproxy *haproxy_new(struct ev_loop *loop, int one_off,
    deliver_foreach_fn *foreach, void *ctx)
{
	struct haproxy *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->loop = loop;
	h->one_off = one_off;
	h->probe_every = HAPROXY_PROBE_EVERY;
	h->foreach = foreach;
	h->ctx = ctx;
	ev_timer_init(&h->start, on_start, 0., 0.);
	h->start.data = h;
	return h;
}

void haproxy_set_serial(struct haproxy *h, int on)
{
	h->serial = on != 0;
}

/* Closes the connection (unanswered commands dropped) and frees s. */
static void sock_free(struct haproxy_sock *s)
{
	struct haproxy *h = s->h;

	ev_io_stop(h->loop, &s->rio);
	ev_io_stop(h->loop, &s->wio);
	ev_timer_stop(h->loop, &s->timer);
	ev_timer_stop(h->loop, &s->deadline);
	if (s->fd != -1)
		close(s->fd);
	cmd_free_all(s);
	free(s->in);
	free(s->path);
	free(s);
}

static void maps_free(struct haproxy_map *m)
{
	struct haproxy_map *mn;

	for (; m != NULL; m = mn) {
		mn = m->next;
		free(m->dir);
		free(m->rdir);
		free(m);
	}
}

void haproxy_free(struct haproxy *h)
{
	struct haproxy_sock *s, *sn;

	if (h == NULL)
		return;
	ev_timer_stop(h->loop, &h->start);
	for (s = h->socks; s != NULL; s = sn) {
		sn = s->next;
		sock_free(s);
	}
	maps_free(h->maps);
	free(h);
}

static struct haproxy_sock *sock_find(struct haproxy *h, const char *path)
{
	for (struct haproxy_sock *s = h->socks; s != NULL; s = s->next)
		if (strcmp(s->path, path) == 0)
			return s;
	return NULL;
}

/* The socket at path, made (idle, not connected) when h has none yet. NULL on ENOMEM. */
static struct haproxy_sock *sock_get(struct haproxy *h, const char *path)
{
	struct haproxy_sock *s = sock_find(h, path), **tail;

	if (s != NULL)
		return s;
	for (tail = &h->socks; *tail != NULL; tail = &(*tail)->next)
		;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->path = haproxy_cfg_norm_path(path)) == NULL) {
		free(s);
		return NULL;
	}
	s->h = h;
	s->fd = -1;
	s->backoff = HAPROXY_BACKOFF_MIN;
	ev_init(&s->rio, on_read);
	ev_init(&s->wio, on_write);
	ev_init(&s->timer, on_timer);
	ev_init(&s->deadline, on_deadline);
	s->deadline.repeat = HAPROXY_ANSWER_TIMEOUT;
	s->rio.data = s->wio.data = s->timer.data = s->deadline.data = s;
	*tail = s;
	return s;
}

int haproxy_map(struct haproxy *h, const char *dir, const char *sock, char **err)
{
	struct haproxy_map *m = NULL, **tail;
	struct stat st;
	char rp[PATH_MAX];

	if (stat(sock, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		err_set(err, "%s: not a unix socket (HAProxy admin socket expected)", sock);
		return -1;
	}
	for (m = h->maps; m != NULL; m = m->next)
		if (strcmp(m->sock->path, sock) == 0 && haproxy_path_under(m->dir, dir) != NULL &&
		    strlen(haproxy_path_under(m->dir, dir)) == 0)
			return 0;	/* the same pair twice */
	if ((m = calloc(1, sizeof(*m))) == NULL)
		goto nomem;
	if ((m->dir = haproxy_cfg_norm_path(dir)) == NULL)
		goto nomem;
	if (realpath(dir, rp) != NULL && strcmp(rp, m->dir) != 0 && (m->rdir = strdup(rp)) == NULL)
		goto nomem;
	if ((m->sock = sock_get(h, sock)) == NULL)
		goto nomem;
	for (tail = &h->maps; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = m;
	log_debug("%s: staples of these certificates go to HAProxy %s", m->dir, sock);
	return 0;
nomem:
	if (m != NULL) {
		free(m->dir);
		free(m->rdir);
	}
	free(m);
	err_set(err, "out of memory");
	return -1;
}

int haproxy_map_conf(struct haproxy *h, const struct conf *c, char **err)
{
	struct haproxy_cfg cfg;
	char *dir = NULL;
	int rc = -1;

	memset(&cfg, 0, sizeof(cfg));
	for (int i = 0; i < c->haproxy_sockets.n; i++) {
		const char *v = c->haproxy_sockets.v[i];
		const char *eq = strchr(v, '=');
		struct stat st;

		if (eq == NULL || eq == v || eq[1] == '\0') {
			err_set(err, "haproxy-sockets: \"%s\" is not of the form DIR=SOCKET", v);
			goto out;
		}
		free(dir);
		if ((dir = strndup(v, (size_t)(eq - v))) == NULL) {
			err_set(err, "out of memory");
			goto out;
		}
		if (haproxy_map(h, dir, eq + 1, err) == -1)
			goto out;
		if (!h->one_off && stat(eq + 1, &st) == -1)
			log_warn("%s: HAProxy admin socket not there yet (%s); will keep trying",
			    eq + 1, strerror(errno));
	}
	for (int i = 0; i < c->haproxy_config.n; i++) {
		const char *f = c->haproxy_config.v[i];

		if (haproxy_cfg_read(f, &cfg, err) == -1) {
			err_prefix(err, f);
			goto out;
		}
		if (cfg.sockets.n == 0) {
			if (cfg.other_sockets.n > 0)
				err_set(err, "%s: stats socket %s is not a unix socket at \"level admin\" "
				    "(ocspd needs \"stats socket /path level admin\")", f, cfg.other_sockets.v[0]);
			else
				err_set(err, "%s: no \"stats socket /path level admin\" line in the global section", f);
			goto out;
		}
		if (cfg.crts.n == 0)
			log_warn("%s: no \"crt\" or \"crt-list\" on any bind line; nothing to push", f);
		for (int j = 0; j < cfg.other_sockets.n; j++)
			log_debug("%s: stats socket %s skipped (not a unix socket at level admin)",
			    f, cfg.other_sockets.v[j]);
		for (int j = 0; j < cfg.crts.n; j++)
			for (int k = 0; k < cfg.sockets.n; k++)
				if (haproxy_map(h, cfg.crts.v[j], cfg.sockets.v[k], err) == -1)
					goto out;
		haproxy_cfg_free(&cfg);
	}
	rc = 0;
out:
	haproxy_cfg_free(&cfg);
	free(dir);
	return rc;
}

static void on_start(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct haproxy *h = w->data;

	(void)loop;
	(void)revents;
	for (struct haproxy_sock *s = h->socks; s != NULL; s = s->next)
		if (s->state == SOCK_CONNECTING && s->fd == -1)
			sock_connect(s);
}

void haproxy_start(struct haproxy *h)
{
	int n = 0;

	/* Connect from the loop: sock_up() calls foreach, which needs a finished deliver_new(). */
	for (struct haproxy_sock *s = h->socks; s != NULL; s = s->next) {
		if (s->state == SOCK_IDLE) {
			s->state = SOCK_CONNECTING;
			n++;
		}
	}
	if (n > 0)
		ev_timer_start(h->loop, &h->start);
}

/*
 * What follows m->dir in certpath ("" or "/sub/file"), or NULL when m does
 * not hold it. rp/have_rp cache certpath's real path (have_rp -1: not tried).
 */
static const char *map_rest(const struct haproxy_map *m, const char *certpath,
    char *rp, int *have_rp)
{
	const char *rest = haproxy_path_under(m->dir, certpath);

	if (rest == NULL) {
		/* Spelled differently (relative, symlinks): compare real paths. */
		if (*have_rp == -1)
			*have_rp = realpath(certpath, rp) != NULL;
		if (*have_rp)
			rest = haproxy_path_under(m->rdir != NULL ? m->rdir : m->dir, rp);
	}
	return rest;
}

static void push_to(struct haproxy *h, struct haproxy_sock *only, int fresh,
    const char *certpath, const unsigned char *der, size_t len)
{
	char *b64 = NULL;
	char rp[PATH_MAX], name[PATH_MAX];
	int have_rp = -1, b64len = 0;
	unsigned long gen = ++h->gen;

	if (len == 0 || len > INT_MAX / 2)
		return;
	/* only's connection already had it through a map from before the reload. */
	for (struct haproxy_map *m = h->before; fresh && m != NULL; m = m->next)
		if (m->sock == only && map_rest(m, certpath, rp, &have_rp) != NULL)
			return;
	for (struct haproxy_map *m = h->maps; m != NULL; m = m->next) {
		const char *rest = NULL;

		if (m->sock->mark == gen || (only != NULL && m->sock != only))
			continue;
		if (m->sock->state != SOCK_UP)
			continue;	/* pushed again once it is up */
		if ((rest = map_rest(m, certpath, rp, &have_rp)) == NULL)
			continue;
		if (snprintf(name, sizeof(name), "%s%s", m->dir, rest) >= (int)sizeof(name))
			continue;
		if (b64 == NULL) {
			if ((b64 = malloc(4 * ((len + 2) / 3) + 2)) == NULL) {
				log_err("%s: out of memory pushing the staple", certpath);
				metrics_push(METRICS_PUSH_FAILED);
				return;
			}
			b64len = EVP_EncodeBlock((unsigned char *)b64, der, (int)len);
			b64[b64len++] = '\n';
		}
		m->sock->mark = gen;
		if (cmd_queue(m->sock, CMD_OCSP, certpath, name, OCSP_PREFIX, strlen(OCSP_PREFIX),
		    b64, (size_t)b64len, NULL, 0) == -1)
			metrics_push(METRICS_PUSH_FAILED);
	}
	free(b64);
}

void haproxy_push(struct haproxy *h, const char *certpath,
    const unsigned char *der, size_t len)
{
	if (h != NULL)
		push_to(h, NULL, 0, certpath, der, len);
}

void haproxy_withdraw(struct haproxy *h, const char *certpath,
    const struct deliver_ident *id)
{
	char rp[PATH_MAX], name[PATH_MAX], arg[2 * PATH_MAX], commit[2 * PATH_MAX + 32];
	char *err = NULL;
	int have_rp = -1, cl;
	unsigned long gen;

	if (h == NULL)
		return;
	gen = ++h->gen;
	for (struct haproxy_map *m = h->maps; m != NULL; m = m->next) {
		struct haproxy_sock *s = m->sock;
		const char *rest;

		if (s->mark == gen || s->state != SOCK_UP)
			continue;	/* not connected: a HAProxy started later loads the empty .ocsp */
		if ((rest = map_rest(m, certpath, rp, &have_rp)) == NULL)
			continue;
		if (snprintf(name, sizeof(name), "%s%s", m->dir, rest) >= (int)sizeof(name))
			continue;
		if (haproxy_quote_arg(name, arg, sizeof(arg), &err) == -1) {
			log_err("%s: staple not withdrawn from HAProxy %s (its name cannot be passed to "
			    "the HAProxy CLI: %s)", certpath, s->path, err);
			free(err);
			err = NULL;
			metrics_push(METRICS_PUSH_FAILED);
			continue;
		}
		if ((cl = snprintf(commit, sizeof(commit), "commit ssl cert %s\n", arg)) >= (int)sizeof(commit))
			continue;
		s->mark = gen;
		/* The set carries no text yet: sock_flush reads the bundle when it writes it. */
		if (cmd_queue(s, CMD_WSET, certpath, name, "", 0, NULL, 0, NULL, 0) == -1) {
			metrics_push(METRICS_PUSH_FAILED);
			continue;
		}
		s->tail->ident = *id;
		if (cmd_queue(s, CMD_WCOMMIT, certpath, name, commit, (size_t)cl, NULL, 0, NULL, 0) == -1) {
			/* Never a set without its commit: it would leave a transaction open. */
			wset_drop(s, s->tail);
			metrics_push(METRICS_PUSH_FAILED);
			continue;
		}
		log_debug("%s: withdrawing the staple from HAProxy %s", certpath, s->path);
	}
}

/* 1 if maps holds exactly the pair dir -> sock. */
static int map_had(const struct haproxy_map *maps, const char *dir,
    const struct haproxy_sock *sock)
{
	for (const struct haproxy_map *m = maps; m != NULL; m = m->next)
		if (m->sock == sock && strcmp(m->dir, dir) == 0)
			return 1;
	return 0;
}

int haproxy_reconfigure(struct haproxy *h, const struct conf *c, char **err)
{
	struct haproxy *next = NULL;
	struct haproxy_sock *s, **tail;
	struct haproxy_map *m;
	int n;

	/* Everything that can fail first, into a set of its own: on error h is untouched. */
	if ((next = haproxy_new(h->loop, h->one_off, NULL, NULL)) == NULL) {
		err_set(err, "out of memory");
		return -1;
	}
	if (haproxy_map_conf(next, c, err) == -1) {
		haproxy_free(next);
		return -1;
	}

	/* A socket in both keeps its connection: next's maps are moved onto it. */
	for (tail = &next->socks; (s = *tail) != NULL;) {
		struct haproxy_sock *kept = sock_find(h, s->path);

		if (kept == NULL) {
			s->h = h;	/* new: joins h below */
			tail = &s->next;
			continue;
		}
		for (m = next->maps; m != NULL; m = m->next)
			if (m->sock == s)
				m->sock = kept;
		*tail = s->next;
		sock_free(s);
	}
	h->before = h->maps;
	h->maps = next->maps;
	next->maps = NULL;

	/* A kept connection gets the staples of the certificates newly mapped to it. */
	for (s = h->socks; s != NULL; s = s->next) {
		for (n = 0, m = h->maps; m != NULL; m = m->next)
			n += m->sock == s && !map_had(h->before, m->dir, s);
		if (n == 0 || s->state != SOCK_UP || h->foreach == NULL)
			continue;
		log_debug("%s: %d path%s newly mapped; pushing their staples", s->path, n,
		    n == 1 ? "" : "s");
		h->foreach(h->ctx, repush_fresh, s);
	}
	maps_free(h->before);
	h->before = NULL;

	/* Sockets no map names any more are closed; what they had queued is dropped. */
	for (tail = &h->socks; (s = *tail) != NULL;) {
		for (m = h->maps; m != NULL && m->sock != s; m = m->next)
			;
		if (m != NULL) {
			tail = &s->next;
			continue;
		}
		log_info("%s: HAProxy admin socket no longer configured; connection closed", s->path);
		*tail = s->next;
		sock_free(s);
	}
	*tail = next->socks;		/* the new ones, still idle */
	next->socks = NULL;
	haproxy_free(next);

	haproxy_set_probe(h, c->refresh_interval);
	haproxy_start(h);
	return 0;
}

int haproxy_busy(const struct haproxy *h)
{
	int n = 0;

	if (h == NULL)
		return 0;
	for (const struct haproxy_sock *s = h->socks; s != NULL; s = s->next) {
		if (s->state == SOCK_CONNECTING)
			n++;
		else if (s->state == SOCK_UP)
			n += s->pending;
	}
	return n;
}

int haproxy_failed(const struct haproxy *h)
{
	return h != NULL ? h->failed : 0;
}

int haproxy_count(const struct haproxy *h)
{
	int n = 0;

	for (const struct haproxy_sock *s = h != NULL ? h->socks : NULL; s != NULL; s = s->next)
		n++;
	return n;
}

void haproxy_set_probe(struct haproxy *h, double every)
{
	if (every == h->probe_every)
		return;
	h->probe_every = every;
	/* Connections already up switch to the new period from now. */
	for (struct haproxy_sock *s = h->socks; s != NULL; s = s->next) {
		if (s->state == SOCK_UP && !h->one_off) {
			s->timer.repeat = every;
			ev_timer_again(h->loop, &s->timer);
		}
	}
}
