/* fleet — see fleet.h. */
#include "fleet.h"
#include "log.h"
#include "metrics.h"

#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libev.h>
#include <uthash.h>

/*
 * Takes the lease (KEYS[1]) unless the staple (KEYS[2]) changed since the
 * caller read it (ARGV[3]: SHA-1 hex of what it read, "" for none): -2 it
 * changed (read again: a holder finished between our read and this), -1
 * won, else the PTTL in ms of the holder's lease. Atomic, so that a node
 * never fetches a staple another has just shared.
 */
static const char LEASE_LUA[] =
    "local v = redis.call('get', KEYS[2]) "
    "local h = '' if v then h = redis.sha1hex(v) end "
    "if h ~= ARGV[3] then return -2 end "
    "if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return -1 end "
    "return redis.call('pttl', KEYS[1])";
/* Compare-and-delete: only the holder frees a lease (another may hold it after ours expired). */
static const char RELEASE_LUA[] =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

enum fleet_state {
	FLEET_CONNECTING,	/* connections being made, authenticated, subscribed */
	FLEET_UP,		/* both ready */
	FLEET_DOWN,		/* lost or unreachable: retry timer running */
	FLEET_REFUSED,		/* AUTH/SELECT refused: retry timer at FLEET_RETRY_REFUSED */
	FLEET_OFF,		/* SIGHUP took --redis away: nothing until it is given again */
};

/* One command on the command connection, answered in the order sent. */
struct cmd {
	struct fleet *f;		/* owner */
	fleet_get_fn *get;		/* GET: told the value, or */
	fleet_lease_fn *lease;		/* lease: told who won, or neither (fire and forget) */
	void *arg;			/* their argument */
	double sent;			/* ev_now when sent: the deadline runs from here */
	struct cmd *next, *prev;	/* in f->cmds, oldest first */
};

/* Who waits for the announcement of one key. */
struct waiter {
	fleet_announce_fn *fn;		/* told once */
	void *arg;			/* its argument */
};

struct watch {
	unsigned char key[FLEET_KEY_MAX]; /* the key; hash key */
	size_t klen;			/* its length */
	struct waiter *v;		/* waiters */
	int n;				/* how many */
	UT_hash_handle hh;		/* by key */
};

struct fleet {
	struct ev_loop *loop;		/* the daemon's loop */
	struct fleet_url url;		/* where (owned) */
	char *prefix;			/* key prefix (owned) */
	char *node;			/* lease value: this node's name (owned) */
	char *channel;			/* <prefix>staples (owned) */
	redisAsyncContext *cmd;		/* command connection, or NULL */
	redisAsyncContext *sub;		/* subscriber connection, or NULL */
	int cmd_ready, sub_ready;	/* handshake done on each */
	enum fleet_state state;		/* see above */
	double connect_at;		/* ev_now when the connections were started */
	double backoff;			/* next reconnect delay */
	int warned;			/* the current outage has been logged */
	int said_back;			/* its "connected again" has been logged */
	double up_at;			/* ev_now when the connections were last both ready */
	int closing;			/* fleet_free: no more callbacks */
	char refusal[128];		/* why a reply was refused (the reader says only "Out of memory") */
	struct cmd *cmds, *cmds_tail;	/* commands in flight, oldest first */
	struct watch *watches;		/* announcement waiters by key */
	ev_timer tick;			/* deadlines of connects and commands */
	ev_timer retry;			/* next reconnect */
};

static void fleet_connect(struct fleet *f);

/* The one place the state changes: /metrics and /status follow it. */
static void set_state(struct fleet *f, enum fleet_state st)
{
	f->state = st;
	metrics_redis_state(fleet_state(f), st == FLEET_OFF ? NULL : f->url.shown);
}

/* ---------------------------------------------------------------- URL */

void fleet_url_free(struct fleet_url *u)
{
	if (u == NULL)
		return;
	free(u->host);
	free(u->path);
	free(u->user);
	if (u->pass != NULL)
		explicit_bzero(u->pass, strlen(u->pass));
	free(u->pass);
	free(u->shown);
	memset(u, 0, sizeof(*u));
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* s[0..n) with %XX decoded (malloc'd), or NULL for a bad escape, a NUL byte or no memory. */
static char *pct_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		int hi = i + 2 < n ? hexval(s[i + 1]) : -1, lo = i + 2 < n ? hexval(s[i + 2]) : -1;

		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		*o++ = (char)(hi * 16 + lo);
		i += 2;
	}
	*o = '\0';
	return out;
}

/* A whole decimal number in s[0..n) from min to max into *v: 0, or -1. */
static int parse_num(const char *s, size_t n, long min, long max, int *v)
{
	long x = 0;

	if (n == 0 || n > 9)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (s[i] - '0');
	}
	if (x < min || x > max)
		return -1;
	*v = (int)x;
	return 0;
}

/* user:password or :password in s[0..n) into u. 0, or -1 with *err. */
static int parse_userinfo(const char *s, size_t n, struct fleet_url *u, char **err)
{
	const char *colon = memchr(s, ':', n);

	if (colon == NULL) {
		err_set(err, "redis: the part before '@' must be user:password or :password");
		return -1;
	}
	if (colon > s && (u->user = pct_decode(s, (size_t)(colon - s))) == NULL) {
		err_set(err, "redis: bad %%-escape in the user name");
		return -1;
	}
	if ((u->pass = pct_decode(colon + 1, n - (size_t)(colon + 1 - s))) == NULL) {
		err_set(err, "redis: bad %%-escape in the password");
		return -1;
	}
	return 0;
}

/* The URL with the password hidden, from its parts. */
static char *shown_url(const struct fleet_url *u)
{
	char buf[4096], db[32] = "";
	const char *auth = u->pass != NULL ? ":***@" : "";

	if (u->path != NULL) {
		if (u->db != 0)
			snprintf(db, sizeof(db), "?db=%d", u->db);
		snprintf(buf, sizeof(buf), "unix://%s%s%s", u->user ? u->user : "", auth, u->path);
		strncat(buf, db, sizeof(buf) - strlen(buf) - 1);
	} else {
		if (u->db != 0)
			snprintf(db, sizeof(db), "/%d", u->db);
		snprintf(buf, sizeof(buf), "redis://%s%s%s%s%s:%d%s", u->user ? u->user : "", auth,
		    strchr(u->host, ':') ? "[" : "", u->host, strchr(u->host, ':') ? "]" : "", u->port, db);
	}
	return strdup(buf);
}

int fleet_url_parse(const char *url, struct fleet_url *u, char **err)
{
	const char *p, *at, *end, *hend;
	size_t n;

	memset(u, 0, sizeof(*u));
	u->port = 6379;
	if (strncmp(url, "unix://", 7) == 0) {
		p = url + 7;
		n = strcspn(p, "/");
		if (p[n] == '\0') {
			err_set(err, "redis: a unix:// URL needs an absolute socket path (unix:///run/redis.sock)");
			goto fail;
		}
		if (n > 0) {
			if (p[n - 1] != '@') {
				err_set(err, "redis: a unix:// URL is unix:///path or unix://:password@/path");
				goto fail;
			}
			if (parse_userinfo(p, n - 1, u, err) == -1)
				goto fail;
		}
		p += n;
		end = strchr(p, '?');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		if (n < 2 || (u->path = pct_decode(p, n)) == NULL) {
			err_set(err, "redis: bad unix socket path");
			goto fail;
		}
		if (end != NULL) {
			if (strncmp(end, "?db=", 4) != 0 || parse_num(end + 4, strlen(end + 4), 0, 1000000, &u->db) == -1) {
				err_set(err, "redis: after the socket path only ?db=N (a database number) is understood");
				goto fail;
			}
		}
	} else if (strncmp(url, "redis://", 8) == 0) {
		p = url + 8;
		/* The last '@': a password may hold one, the host, port and db cannot. */
		at = strrchr(p, '@');
		if (at != NULL) {
			if (parse_userinfo(p, (size_t)(at - p), u, err) == -1)
				goto fail;
			p = at + 1;
		}
		if (*p == '[') {
			hend = strchr(p, ']');
			if (hend == NULL || hend == p + 1) {
				err_set(err, "redis: unterminated [IPv6 address]");
				goto fail;
			}
			u->host = strndup(p + 1, (size_t)(hend - p - 1));
			p = hend + 1;
		} else {
			n = strcspn(p, ":/");
			if (n == 0) {
				err_set(err, "redis: no host in the URL (redis://host[:port][/db])");
				goto fail;
			}
			u->host = strndup(p, n);
			p += n;
		}
		if (u->host == NULL) {
			err_set(err, "redis: out of memory");
			goto fail;
		}
		if (*p == ':') {
			p++;
			n = strcspn(p, "/");
			if (parse_num(p, n, 1, 65535, &u->port) == -1) {
				err_set(err, "redis: the port must be a number from 1 to 65535");
				goto fail;
			}
			p += n;
		}
		if (*p == '/' && p[1] != '\0' && parse_num(p + 1, strlen(p + 1), 0, 1000000, &u->db) == -1) {
			err_set(err, "redis: the path must be a database number (redis://host:port/0)");
			goto fail;
		}
		if (*p != '\0' && *p != '/') {
			err_set(err, "redis: unexpected text after the host");
			goto fail;
		}
	} else {
		err_set(err, "redis: expected redis://[user:password@]host[:port][/db] or unix:///path[?db=N]");
		goto fail;
	}
	if ((u->shown = shown_url(u)) == NULL) {
		err_set(err, "redis: out of memory");
		goto fail;
	}
	return 0;
fail:
	fleet_url_free(u);
	return -1;
}

/* ---------------------------------------------------------------- keys */

void fleet_key_name(const struct fleet *f, const char *kind, const unsigned char *key, size_t klen,
    char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	int n = snprintf(buf, size, "%s%s%s", f->prefix, kind, *kind ? ":" : "");

	for (size_t i = 0; i < klen && n >= 0 && (size_t)n + 2 < size; i++) {
		buf[n++] = hex[key[i] >> 4];
		buf[n++] = hex[key[i] & 15];
	}
	if (n >= 0 && (size_t)n < size)
		buf[n] = '\0';
}

/* ---------------------------------------------------------------- connection state */

static void wake_all(struct fleet *f)
{
	struct watch *w, *tmp;

	HASH_ITER(hh, f->watches, w, tmp) {
		HASH_DEL(f->watches, w);
		for (int i = 0; i < w->n && !f->closing; i++)
			w->v[i].fn(w->v[i].arg);
		free(w->v);
		free(w);
	}
}

/*
 * Both connections go: dying is the one hiredis is freeing itself (or NULL);
 * the other is freed here (its commands are told the connection closed).
 */
static void drop(struct fleet *f, const redisAsyncContext *dying)
{
	redisAsyncContext *c = f->cmd, *s = f->sub;

	f->cmd = f->sub = NULL;
	f->cmd_ready = f->sub_ready = 0;
	ev_timer_stop(f->loop, &f->tick);
	if (c != NULL && c != dying)
		redisAsyncFree(c);
	if (s != NULL && s != dying)
		redisAsyncFree(s);
}

/* Lost or unreachable (why): work alone, say so once, reconnect with backoff. */
static void lost(struct fleet *f, const redisAsyncContext *dying, const char *why)
{
	int was_up = f->state == FLEET_UP;

	if (f->state == FLEET_DOWN || f->state == FLEET_REFUSED)
		return;
	/*
	 * Only a connection that stayed up FLEET_STABLE ends an outage: a server
	 * that accepts and then misbehaves at once gets the backoff and no new
	 * warning each time (one line per outage, not one per reconnect).
	 */
	if (was_up && ev_now(f->loop) - f->up_at >= FLEET_STABLE) {
		f->warned = 0;
		f->said_back = 0;
		f->backoff = FLEET_RETRY_MIN;
	}
	/* A refused reply makes hiredis drop the connection as if out of memory: say what it was. */
	if (f->refusal[0] != '\0')
		why = f->refusal;
	drop(f, dying);
	set_state(f, FLEET_DOWN);
	if (!f->warned)
		log_warn("redis %s: %s (%.200s); working alone, fetching from the responders until it is back",
		    f->url.shown, was_up ? "connection lost" : "cannot connect", why);
	else
		log_debug("redis %s: cannot connect (%.200s); retry in %.0fs", f->url.shown, why, f->backoff);
	f->warned = 1;
	f->refusal[0] = '\0';
	ev_timer_stop(f->loop, &f->retry);
	ev_timer_set(&f->retry, f->backoff, 0.);
	ev_timer_start(f->loop, &f->retry);
	f->backoff = f->backoff * 2 > FLEET_RETRY_MAX ? FLEET_RETRY_MAX : f->backoff * 2;
	wake_all(f);
}

/* Redis refused a handshake command (what, its answer why): a configuration error. */
static void refused(struct fleet *f, const char *what, const char *why)
{
	if (f->state == FLEET_REFUSED)
		return;
	drop(f, NULL);
	set_state(f, FLEET_REFUSED);
	/* One error per outage: retries that are refused again say nothing new. */
	if (f->warned != 2)
		log_err("redis %s: %s refused (%.200s); working alone, trying again in %.0fs",
		    f->url.shown, what, why, FLEET_RETRY_REFUSED);
	f->warned = 2;
	ev_timer_stop(f->loop, &f->retry);
	ev_timer_set(&f->retry, FLEET_RETRY_REFUSED, 0.);
	ev_timer_start(f->loop, &f->retry);
	wake_all(f);
}

static void maybe_up(struct fleet *f)
{
	if (!f->cmd_ready || !f->sub_ready || f->state == FLEET_UP)
		return;
	set_state(f, FLEET_UP);
	f->up_at = ev_now(f->loop);
	/* The backoff and the warning are reset by lost() once this connection has proved stable. */
	if (!f->warned)
		log_info("redis %s: connected; sharing staples with the fleet", f->url.shown);
	else if (!f->said_back)
		log_info("redis %s: connected again; sharing staples with the fleet", f->url.shown);
	else
		log_debug("redis %s: connected again", f->url.shown);
	f->said_back = f->warned;
}

/* ---------------------------------------------------------------- a hostile Redis */

/*
 * hiredis 0.14 reads whatever the server sends: a bulk string is buffered
 * whole however long it says it is, an array of any length is allocated at
 * once, and a reply nobody asked for (or a subscriber push not shaped like
 * one) trips an assert() inside the library, which aborts the daemon. So
 * every reply object goes through these checks first; refusing one (NULL)
 * makes hiredis drop the connection, which is then handled like any loss,
 * with f->refusal as the reason. What we ask for: status, integer, nil and
 * strings of at most FLEET_VALUE_MAX + 1 bytes on the command connection;
 * three-element "subscribe"/"message" arrays of strings and integers on the
 * subscriber one.
 */
static redisReplyObjectFunctions *base_fn;	/* hiredis's own (the same for every reader) */

/* Refuses the object at task (NULL): the first reason (fmt with n) is kept for the log. */
static void *refuse(const redisReadTask *task, const char *fmt, long long n)
{
	redisAsyncContext *ac = task->privdata;
	struct fleet *f = ac->data;

	if (f->refusal[0] == '\0')
		snprintf(f->refusal, sizeof(f->refusal), fmt, n);
	return NULL;
}

/* NULL when an object of type at task's place may be built, else the reason (format, %lld). */
static const char *misplaced(const redisReadTask *task, int type)
{
	redisAsyncContext *ac = task->privdata;
	struct fleet *f = ac->data;
	int sub = ac == f->sub, top = task->parent == NULL;

	if (top && !sub && ac->replies.head == NULL)
		return "Redis sent a reply to no command";
	if (!sub)
		return type == REDIS_REPLY_ARRAY ? "Redis sent an array where none was asked for" : NULL;
	if (top)
		return NULL;
	if (task->parent->parent != NULL)
		return "Redis sent a nested array";
	if (task->idx < 2 && type != REDIS_REPLY_STRING)
		return "Redis sent a subscriber message with a non-string field";
	return NULL;
}

static void *make_string(const redisReadTask *task, char *str, size_t len)
{
	redisAsyncContext *ac = task->privdata;
	const char *why = misplaced(task, task->type);

	if (why != NULL)
		return refuse(task, why, 0);
	/* Anyone may PUBLISH: a long announcement is ignored later, bounded by FLEET_REPLY_MAX. */
	if (len > FLEET_VALUE_MAX + 1 && ac != ((struct fleet *)ac->data)->sub)
		return refuse(task, "Redis sent a string of %lld bytes", (long long)len);
	/* hiredis asserts on any other push; "unsubscribe" would end the subscription (we never ask). */
	if (ac == ((struct fleet *)ac->data)->sub && task->parent != NULL && task->idx == 0 &&
	    !(len == 9 && memcmp(str, "subscribe", 9) == 0) && !(len == 7 && memcmp(str, "message", 7) == 0))
		return refuse(task, "Redis sent a subscriber push that is neither subscribe nor message", 0);
	return base_fn->createString(task, str, len);
}

static void *make_array(const redisReadTask *task, int elements)
{
	redisAsyncContext *ac = task->privdata;
	const char *why = misplaced(task, REDIS_REPLY_ARRAY);

	if (why != NULL)
		return refuse(task, why, 0);
	if (elements != 3 && ac == ((struct fleet *)ac->data)->sub)
		return refuse(task, "Redis sent a subscriber push of %lld elements (not 3)", elements);
	return base_fn->createArray(task, elements);
}

static void *make_integer(const redisReadTask *task, long long v)
{
	const char *why = misplaced(task, REDIS_REPLY_INTEGER);

	return why != NULL ? refuse(task, why, 0) : base_fn->createInteger(task, v);
}

static void *make_nil(const redisReadTask *task)
{
	const char *why = misplaced(task, REDIS_REPLY_NIL);

	return why != NULL ? refuse(task, why, 0) : base_fn->createNil(task);
}

static void free_object(void *obj)
{
	base_fn->freeObject(obj);
}

static redisReplyObjectFunctions checked_fn = {
	make_string, make_array, make_integer, make_nil, free_object,
};

/* Reads what ac has (hiredis parses it); then refuses a reply still growing past FLEET_REPLY_MAX. */
static void read_some(struct fleet *f, redisAsyncContext *ac)
{
	redisReader *rd;

	redisAsyncHandleRead(ac);
	/* Gone (dropped in a callback; hiredis freed it): nothing left to check. */
	if (f->closing || (ac != f->cmd && ac != f->sub))
		return;
	rd = ac->c.reader;
	if (rd->len - rd->pos > FLEET_REPLY_MAX) {
		snprintf(f->refusal, sizeof(f->refusal), "Redis sent a reply of more than %d bytes", FLEET_REPLY_MAX);
		lost(f, NULL, f->refusal);
	}
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	redisLibevEvents *e = w->data;

	(void)loop;
	(void)revents;
	read_some(e->context->data, e->context);
}

/* Puts the checks above between ac's reader and hiredis. */
static void guard(redisAsyncContext *ac)
{
	redisLibevEvents *e = ac->ev.data;

	if (base_fn == NULL)
		base_fn = ac->c.reader->fn;
	ac->c.reader->fn = &checked_fn;
	ac->c.reader->privdata = ac;
	ev_set_cb(&e->rev, on_readable);
}

/* ---------------------------------------------------------------- hiredis callbacks */

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct fleet *f = ac->data;

	if (f->closing || status == REDIS_OK || (ac != f->cmd && ac != f->sub))
		return;
	/* hiredis frees ac after this. */
	lost(f, ac, ac->errstr[0] ? ac->errstr : "connection failed");
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct fleet *f = ac->data;

	(void)status;
	if (f->closing || (ac != f->cmd && ac != f->sub))
		return;
	lost(f, ac, ac->errstr[0] ? ac->errstr : "connection closed by Redis");
}

/* A handshake answer (AUTH, SELECT, PING; privdata names it) on either connection. */
static void on_handshake(redisAsyncContext *ac, void *r, void *privdata)
{
	struct fleet *f = ac->data;
	redisReply *reply = r;

	if (f->closing || (ac != f->cmd && ac != f->sub))
		return;
	if (reply == NULL) {
		lost(f, ac, ac->errstr[0] ? ac->errstr : "connection lost");
		return;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		refused(f, privdata, reply->str);
		return;
	}
	if (strcmp(privdata, "PING") == 0) {
		f->cmd_ready = 1;
		maybe_up(f);
	}
}

/* Key bytes from the hex of an announcement: its length, or 0 when it is not one. */
static size_t unhex(const char *s, size_t n, unsigned char *key)
{
	if (n == 0 || n % 2 != 0 || n / 2 > FLEET_KEY_MAX)
		return 0;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return 0;
		key[i] = (unsigned char)(hi * 16 + lo);
	}
	return n / 2;
}

/* The subscriber connection: the SUBSCRIBE confirmation, then every announcement. */
static void on_message(redisAsyncContext *ac, void *r, void *privdata)
{
	struct fleet *f = ac->data;
	redisReply *reply = r, **e;
	unsigned char key[FLEET_KEY_MAX];
	struct watch *w;
	size_t klen;

	(void)privdata;
	if (f->closing || ac != f->sub)
		return;
	if (reply == NULL) {
		lost(f, ac, ac->errstr[0] ? ac->errstr : "connection lost");
		return;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		refused(f, "SUBSCRIBE", reply->str);
		return;
	}
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)
		return;
	e = reply->element;
	if (e[0]->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(e[0]->str, "subscribe") == 0) {
		f->sub_ready = 1;
		maybe_up(f);
		return;
	}
	if (strcmp(e[0]->str, "message") != 0 || e[2]->type != REDIS_REPLY_STRING ||
	    (klen = unhex(e[2]->str, e[2]->len, key)) == 0)
		return;		/* anyone may publish: what is not a key is ignored */
	HASH_FIND(hh, f->watches, key, klen, w);
	if (w == NULL)
		return;
	HASH_DEL(f->watches, w);
	for (int i = 0; i < w->n && !f->closing; i++)
		w->v[i].fn(w->v[i].arg);
	free(w->v);
	free(w);
}

static void cmd_unlink(struct fleet *f, struct cmd *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		f->cmds = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		f->cmds_tail = c->prev;
}

/* The answer to a command of the API: handed to its caller. */
static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	struct cmd *c = privdata;
	struct fleet *f = c->f;
	redisReply *reply = r;
	const char *err = NULL;
	char buf[256];

	cmd_unlink(f, c);
	if (f->closing)
		goto out;
	if (reply == NULL) {
		err = "Redis connection lost";
		if (ac == f->cmd)
			lost(f, ac, ac->errstr[0] ? ac->errstr : "connection lost");
	} else if (reply->type == REDIS_REPLY_ERROR) {
		snprintf(buf, sizeof(buf), "Redis answered %.200s", reply->str);
		err = buf;
	}
	if (c->get != NULL) {
		if (err == NULL && reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_NIL)
			err = "Redis answered GETRANGE with something other than a string";
		if (err != NULL)
			c->get(c->arg, NULL, 0, err);
		else if (reply->type == REDIS_REPLY_NIL || reply->len == 0)
			c->get(c->arg, NULL, 0, NULL);
		else
			c->get(c->arg, (const unsigned char *)reply->str, reply->len, NULL);
	} else if (c->lease != NULL) {
		if (err == NULL && reply->type != REDIS_REPLY_INTEGER)
			err = "Redis answered the lease script with something other than a number";
		if (err != NULL)
			c->lease(c->arg, FLEET_LEASE_LOST, 0, err);
		else if (reply->integer == -1)
			c->lease(c->arg, FLEET_LEASE_WON, 0, NULL);
		else if (reply->integer == -2)
			c->lease(c->arg, FLEET_LEASE_CHANGED, 0, NULL);
		else
			c->lease(c->arg, FLEET_LEASE_LOST, reply->integer > 0 ? reply->integer / 1000.0 : 0, NULL);
	} else if (err != NULL) {
		log_debug("redis %s: %s", f->url.shown, err);
	}
out:
	free(c);
}

/* ---------------------------------------------------------------- timers */

static void on_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct fleet *f = t->data;
	double now = ev_now(loop);
	char why[64];

	(void)revents;
	if (f->state == FLEET_CONNECTING && now - f->connect_at > FLEET_DEADLINE) {
		snprintf(why, sizeof(why), "no answer within %.0fs", FLEET_DEADLINE);
		lost(f, NULL, why);
	} else if (f->cmds != NULL && now - f->cmds->sent > FLEET_DEADLINE) {
		/*
		 * A loop busy with thousands of certificates may not have read an
		 * answer that is there: read what is waiting before giving up.
		 */
		if (f->cmd != NULL)
			read_some(f, f->cmd);
		if (f->cmds != NULL && f->cmd != NULL && ev_now(loop) - f->cmds->sent > FLEET_DEADLINE) {
			snprintf(why, sizeof(why), "a command got no answer within %.0fs", FLEET_DEADLINE);
			lost(f, NULL, why);
		}
	}
	/* An idle fleet wakes nobody: the next command starts the tick again. */
	if (f->state == FLEET_UP && f->cmds == NULL)
		ev_timer_stop(loop, &f->tick);
}

static void on_retry(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	fleet_connect(t->data);
}

/* ---------------------------------------------------------------- connect */

/* A new connection with AUTH queued (and SELECT for the command one). NULL with *why. */
static redisAsyncContext *open_one(struct fleet *f, int is_sub, const char **why)
{
	redisAsyncContext *ac = f->url.path != NULL ? redisAsyncConnectUnix(f->url.path) :
	    redisAsyncConnect(f->url.host, f->url.port);
	const char *argv[3];
	size_t lens[3];
	int n = 0;
	char db[16];

	if (ac == NULL) {
		*why = "out of memory";
		return NULL;
	}
	if (ac->err) {
		*why = ac->errstr;
		return ac;	/* the caller reads why, then frees */
	}
	ac->data = f;
	if (redisLibevAttach(f->loop, ac) != REDIS_OK) {
		*why = "cannot attach to the event loop";
		return ac;
	}
	guard(ac);
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	if (f->url.pass != NULL) {
		argv[n] = "AUTH";
		lens[n++] = 4;
		if (f->url.user != NULL) {
			argv[n] = f->url.user;
			lens[n] = strlen(f->url.user);
			n++;
		}
		argv[n] = f->url.pass;
		lens[n] = strlen(f->url.pass);
		n++;
		redisAsyncCommandArgv(ac, on_handshake, "AUTH", n, argv, lens);
	}
	if (is_sub) {
		argv[0] = "SUBSCRIBE";
		lens[0] = 9;
		argv[1] = f->channel;
		lens[1] = strlen(f->channel);
		redisAsyncCommandArgv(ac, on_message, NULL, 2, argv, lens);
	} else {
		if (f->url.db != 0) {
			snprintf(db, sizeof(db), "%d", f->url.db);
			redisAsyncCommand(ac, on_handshake, "SELECT", "SELECT %s", db);
		}
		redisAsyncCommand(ac, on_handshake, "PING", "PING");
	}
	*why = NULL;
	return ac;
}

static void fleet_connect(struct fleet *f)
{
	const char *why = NULL;
	char reason[256];

	drop(f, NULL);
	f->refusal[0] = '\0';
	set_state(f, FLEET_CONNECTING);
	f->connect_at = ev_now(f->loop);
	f->cmd = open_one(f, 0, &why);
	if (why == NULL)
		f->sub = open_one(f, 1, &why);
	if (why != NULL) {
		snprintf(reason, sizeof(reason), "%s", why);
		/* Not attached to the loop yet, or failed at once: freed here. */
		if (f->cmd != NULL && f->cmd->err) {
			redisAsyncFree(f->cmd);
			f->cmd = NULL;
		}
		if (f->sub != NULL && f->sub->err) {
			redisAsyncFree(f->sub);
			f->sub = NULL;
		}
		lost(f, NULL, reason);
		return;
	}
	ev_timer_start(f->loop, &f->tick);
}

/* ---------------------------------------------------------------- interface */

/* Takes the parsed settings into f (which owns them from here). 0, or -1 with *err. */
static int settle(struct fleet *f, struct fleet_url *u, const char *prefix, const char *node, char **err)
{
	char *p = strdup(prefix), *n = strdup(node), *ch = NULL;

	if (p != NULL && n != NULL && (ch = malloc(strlen(p) + 8)) != NULL)
		snprintf(ch, strlen(p) + 8, "%sstaples", p);
	if (ch == NULL) {
		free(p);
		free(n);
		fleet_url_free(u);
		err_set(err, "redis: out of memory");
		return -1;
	}
	fleet_url_free(&f->url);
	free(f->prefix);
	free(f->node);
	free(f->channel);
	f->url = *u;
	f->prefix = p;
	f->node = n;
	f->channel = ch;
	return 0;
}

struct fleet *fleet_new(struct ev_loop *loop, const char *url, const char *prefix, const char *node,
    char **err)
{
	struct fleet *f = calloc(1, sizeof(*f));
	struct fleet_url u;

	if (f == NULL) {
		err_set(err, "redis: out of memory");
		return NULL;
	}
	if (fleet_url_parse(url, &u, err) == -1 || settle(f, &u, prefix, node, err) == -1) {
		free(f);
		return NULL;
	}
	f->loop = loop;
	f->backoff = FLEET_RETRY_MIN;
	ev_timer_init(&f->tick, on_tick, 0.5, 0.5);
	f->tick.data = f;
	ev_timer_init(&f->retry, on_retry, 0., 0.);
	f->retry.data = f;
	log_info("redis %s: connecting (keys under \"%s\", this node is \"%s\")", f->url.shown, f->prefix, f->node);
	fleet_connect(f);
	return f;
}

void fleet_free(struct fleet *f)
{
	if (f == NULL)
		return;
	f->closing = 1;
	drop(f, NULL);
	metrics_redis_state(NULL, NULL);
	ev_timer_stop(f->loop, &f->retry);
	wake_all(f);
	fleet_url_free(&f->url);
	free(f->prefix);
	free(f->node);
	free(f->channel);
	free(f);
}

int fleet_reconfigure(struct fleet *f, const char *url, const char *prefix, const char *node, char **err)
{
	struct fleet_url u;
	int same;

	if (url == NULL) {
		if (f->state == FLEET_OFF)
			return 0;
		log_info("redis %s: no longer configured; working alone", f->url.shown);
		drop(f, NULL);
		ev_timer_stop(f->loop, &f->retry);
		set_state(f, FLEET_OFF);
		wake_all(f);
		return 0;
	}
	if (fleet_url_parse(url, &u, err) == -1)
		return -1;
	same = f->state != FLEET_OFF && strcmp(prefix, f->prefix) == 0 && strcmp(node, f->node) == 0 &&
	    strcmp(u.shown, f->url.shown) == 0 &&
	    strcmp(u.pass != NULL ? u.pass : "", f->url.pass != NULL ? f->url.pass : "") == 0;
	if (same) {
		fleet_url_free(&u);
		/* The operator may have fixed Redis instead: a SIGHUP tries again now. */
		if (f->state == FLEET_DOWN || f->state == FLEET_REFUSED) {
			ev_timer_stop(f->loop, &f->retry);
			fleet_connect(f);
		}
		return 0;
	}
	if (settle(f, &u, prefix, node, err) == -1)
		return -1;
	log_info("redis %s: settings changed; connecting again", f->url.shown);
	ev_timer_stop(f->loop, &f->retry);
	f->backoff = FLEET_RETRY_MIN;
	f->warned = 0;
	set_state(f, FLEET_CONNECTING);
	drop(f, NULL);
	wake_all(f);
	fleet_connect(f);
	return 0;
}

int fleet_pending(const struct fleet *f)
{
	return f != NULL && f->cmds != NULL;
}

int fleet_up(const struct fleet *f)
{
	return f != NULL && f->state == FLEET_UP;
}

const char *fleet_state(const struct fleet *f)
{
	static const char *const names[] = { "connecting", "up", "down", "refused", "off" };

	return names[f->state];
}

const char *fleet_shown_url(const struct fleet *f)
{
	return f->url.shown;
}

/*
 * Commands may be sent while connecting: hiredis queues them behind the
 * handshake, so that the certificates found at start (before Redis has
 * answered) ask the fleet instead of every node fetching. A refused
 * handshake fails them, as does the connect deadline.
 */
static int ready(const struct fleet *f)
{
	return f->cmd != NULL && (f->state == FLEET_UP || f->state == FLEET_CONNECTING);
}

/* Sends argv on the command connection for c (freed here on failure). 0, or -1. */
static int send_cmd(struct fleet *f, struct cmd *c, int argc, const char **argv, const size_t *lens)
{
	if (c == NULL)
		return -1;
	c->f = f;
	c->sent = ev_now(f->loop);
	if (!ready(f) || redisAsyncCommandArgv(f->cmd, on_reply, c, argc, argv, lens) != REDIS_OK) {
		free(c);
		return -1;
	}
	if (!ev_is_active(&f->tick))
		ev_timer_start(f->loop, &f->tick);
	c->prev = f->cmds_tail;
	if (f->cmds_tail != NULL)
		f->cmds_tail->next = c;
	else
		f->cmds = c;
	f->cmds_tail = c;
	return 0;
}

int fleet_get(struct fleet *f, const unsigned char *key, size_t klen, fleet_get_fn *fn, void *arg)
{
	char name[512], end[16];
	const char *argv[4];
	size_t lens[4];
	struct cmd *c;

	if (!ready(f) || (c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	c->get = fn;
	c->arg = arg;
	fleet_key_name(f, "staple", key, klen, name, sizeof(name));
	/* One byte more than allowed tells a value that is too large, without reading all of it. */
	snprintf(end, sizeof(end), "%d", FLEET_VALUE_MAX);
	argv[0] = "GETRANGE";
	argv[1] = name;
	argv[2] = "0";
	argv[3] = end;
	for (int i = 0; i < 4; i++)
		lens[i] = strlen(argv[i]);
	return send_cmd(f, c, 4, argv, lens);
}

int fleet_lease(struct fleet *f, const unsigned char *key, size_t klen, const char *seen, double ttl,
    fleet_lease_fn *fn, void *arg)
{
	char name[512], staple[512], ms[32];
	const char *argv[8];
	size_t lens[8];
	struct cmd *c;

	if (!ready(f) || (c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	c->lease = fn;
	c->arg = arg;
	fleet_key_name(f, "lease", key, klen, name, sizeof(name));
	fleet_key_name(f, "staple", key, klen, staple, sizeof(staple));
	snprintf(ms, sizeof(ms), "%.0f", ttl * 1000 < 1 ? 1 : ttl * 1000);
	argv[0] = "EVAL";
	argv[1] = LEASE_LUA;
	argv[2] = "2";
	argv[3] = name;
	argv[4] = staple;
	argv[5] = f->node;
	argv[6] = ms;
	argv[7] = seen;
	for (int i = 0; i < 8; i++)
		lens[i] = strlen(argv[i]);
	return send_cmd(f, c, 8, argv, lens);
}

void fleet_release(struct fleet *f, const unsigned char *key, size_t klen)
{
	char name[512];
	const char *argv[5];
	size_t lens[5];

	if (!ready(f))
		return;
	fleet_key_name(f, "lease", key, klen, name, sizeof(name));
	argv[0] = "EVAL";
	argv[1] = RELEASE_LUA;
	argv[2] = "1";
	argv[3] = name;
	argv[4] = f->node;
	for (int i = 0; i < 5; i++)
		lens[i] = strlen(argv[i]);
	send_cmd(f, calloc(1, sizeof(struct cmd)), 5, argv, lens);
}

void fleet_put(struct fleet *f, const unsigned char *key, size_t klen, const unsigned char *der, size_t len,
    double ttl)
{
	char name[512], hex[512], ms[32];
	const char *argv[5];
	size_t lens[5];

	if (!ready(f) || ttl * 1000 < 1)
		return;
	fleet_key_name(f, "staple", key, klen, name, sizeof(name));
	snprintf(ms, sizeof(ms), "%.0f", ttl * 1000);
	argv[0] = "SET";
	argv[1] = name;
	argv[2] = (const char *)der;
	argv[3] = "PX";
	argv[4] = ms;
	lens[0] = 3;
	lens[1] = strlen(name);
	lens[2] = len;
	lens[3] = 2;
	lens[4] = strlen(ms);
	if (send_cmd(f, calloc(1, sizeof(struct cmd)), 5, argv, lens) == -1)
		return;
	fleet_key_name(f, "", key, klen, hex, sizeof(hex));
	/* key_name put the prefix first: the announcement is the hex alone. */
	argv[0] = "PUBLISH";
	argv[1] = f->channel;
	argv[2] = hex + strlen(f->prefix);
	for (int i = 0; i < 3; i++)
		lens[i] = strlen(argv[i]);
	send_cmd(f, calloc(1, sizeof(struct cmd)), 3, argv, lens);
	fleet_release(f, key, klen);
}

int fleet_watch(struct fleet *f, const unsigned char *key, size_t klen, fleet_announce_fn *fn, void *arg)
{
	struct watch *w;
	struct waiter *v;

	if (f->sub == NULL || !ready(f) || klen == 0 || klen > FLEET_KEY_MAX)
		return -1;
	HASH_FIND(hh, f->watches, key, klen, w);
	if (w == NULL) {
		if ((w = calloc(1, sizeof(*w))) == NULL)
			return -1;
		memcpy(w->key, key, klen);
		w->klen = klen;
		HASH_ADD(hh, f->watches, key, klen, w);
	}
	if ((v = realloc(w->v, (w->n + 1) * sizeof(*v))) == NULL)
		return -1;
	w->v = v;
	w->v[w->n].fn = fn;
	w->v[w->n].arg = arg;
	w->n++;
	return 0;
}

void fleet_unwatch(struct fleet *f, const unsigned char *key, size_t klen, void *arg)
{
	struct watch *w;

	if (f == NULL || klen == 0 || klen > FLEET_KEY_MAX)
		return;
	HASH_FIND(hh, f->watches, key, klen, w);
	if (w == NULL)
		return;
	for (int i = 0; i < w->n; i++) {
		if (w->v[i].arg == arg) {
			w->v[i] = w->v[--w->n];
			i--;
		}
	}
	if (w->n == 0) {
		HASH_DEL(f->watches, w);
		free(w->v);
		free(w);
	}
}
