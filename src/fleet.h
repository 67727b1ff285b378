/*
 * fleet — the Redis connection of fleet mode (--redis): a shared store of
 * staples for many ocspd nodes serving the same certificates, so that the
 * fleet makes one responder request per certificate per renewal.
 *
 * fleet is a transport, like source-http: it knows keys and bytes, never a
 * certificate's state. renew.c holds the cycle (its "fleet" source and the
 * one call after a staple is stored). What Redis returns is untrusted: renew
 * verifies it like a fetched response; fleet only bounds its size.
 *
 * Keys (<p> = --redis-prefix, <hex> = lower-case hex of staples_key(), the
 * SHA-256 of the certificate's CertID fields):
 *   <p>staple:<hex>  DER OCSPResponse, PX = until its nextUpdate
 *   <p>lease:<hex>   node name of the fetcher, SET NX PX <lease ms>; freed
 *                    by its holder only (compare-and-delete in Lua)
 *   <p>staples       pub/sub channel: <hex> after each new staple is SET
 *
 * Two connections through hiredis's libev adapter on the daemon's loop
 * (nothing here blocks it): one for commands, one SUBSCRIBEd to the
 * channel. Each is AUTHenticated (AUTH pass, or AUTH user pass for a Redis 6
 * ACL user) and the command one SELECTs the database. Both up = "up";
 * anything else is "down" and callers work alone (renew fetches from the
 * responders). Every command has a deadline (FLEET_DEADLINE): a Redis that
 * does not answer in time is dropped, and both connections are made again
 * with backoff (FLEET_RETRY_MIN doubling to FLEET_RETRY_MAX); a refused
 * AUTH or SELECT (wrong password, unknown user, bad database) is an error
 * and is tried again only every FLEET_RETRY_REFUSED seconds. Each change of
 * state is logged once: a warning when lost (or unreachable at start), info
 * when (back) up. The password is never logged: lines name the URL with it
 * replaced by "***".
 *
 * Owns its connections, the commands in flight and the announcement
 * waiters. Loop thread only. Every callback is called exactly once per
 * accepted request (an answer, an error, or the connection dropping), never
 * from inside the requesting call, and never once fleet_free has begun.
 */
#ifndef OCSPD_FLEET_H
#define OCSPD_FLEET_H

#include <stddef.h>
#include <ev.h>

#define FLEET_DEADLINE 3.0		/* seconds for a connect or any one command */
#define FLEET_RETRY_MIN 1.0		/* first reconnect after a loss */
#define FLEET_RETRY_MAX 30.0		/* reconnects back off to this */
#define FLEET_STABLE 5.0		/* seconds up before an outage counts as over (backoff reset, a new warning) */
#define FLEET_RETRY_REFUSED 300.0	/* after a refused AUTH/SELECT: a configuration error */
#define FLEET_VALUE_MAX (64 * 1024)	/* bytes of a staple read (FETCH_MAX_BODY): more is refused */
#define FLEET_REPLY_MAX (1024 * 1024)	/* bytes of one reply being read: more drops the connection */
#define FLEET_KEY_MAX 32		/* bytes of a key (STAPLES_KEY_MAX) */

/* A parsed --redis URL. */
struct fleet_url {
	char *host;			/* TCP host (owned), or NULL for a unix socket */
	int port;			/* TCP port (default 6379) */
	char *path;			/* unix socket path (owned), or NULL */
	char *user;			/* ACL user (owned), or NULL */
	char *pass;			/* password (owned), or NULL */
	int db;				/* database number (default 0) */
	char *shown;			/* the URL with the password as "***": what logs say (owned) */
};

/*
 * Parses redis://[[user]:password@]host[:port][/db] or
 * unix:///path[?db=N] (a password in a unix URL: unix://:pass@/path or
 * ?password=). host may be a name, an IPv4 address or [IPv6]. 0, or -1
 * with *err (caller frees; it never contains the password).
 */
int fleet_url_parse(const char *url, struct fleet_url *u, char **err);
void fleet_url_free(struct fleet_url *u);

struct fleet;

/*
 * A fleet for url (parsed as above), keys under prefix, leases in the name
 * of node (all copied). Starts connecting at once; an unreachable Redis is
 * not an error (it is retried). NULL with *err for a bad URL.
 */
struct fleet *fleet_new(struct ev_loop *loop, const char *url, const char *prefix, const char *node,
    char **err);

/* Drops the connections; callbacks of requests in flight are not called. */
void fleet_free(struct fleet *f);

/*
 * SIGHUP: when url, prefix or node changed, drops the connections (requests
 * in flight are told "connection closed") and connects to the new ones; url
 * NULL stops (state "off") until a URL is given again. 0, or -1 with *err
 * for a bad URL (nothing changes then).
 */
int fleet_reconfigure(struct fleet *f, const char *url, const char *prefix, const char *node,
    char **err);

/* 1 while commands wait for their answer (--one-off waits for the staples it shares). */
int fleet_pending(const struct fleet *f);

/* 1 when both connections are authenticated and subscribed. */
int fleet_up(const struct fleet *f);

/* "<prefix><kind>:<hex of key>" into buf (size bytes): the Redis key, for messages. */
void fleet_key_name(const struct fleet *f, const char *kind, const unsigned char *key, size_t klen,
    char *buf, size_t size);

/* "up", "connecting", "down", "refused" (a wrong password or command: see the log) or "off". */
const char *fleet_state(const struct fleet *f);

/* The URL as logs show it (no password). Borrowed, valid until fleet_reconfigure/free. */
const char *fleet_shown_url(const struct fleet *f);

/*
 * An answer to fleet_get: the value (borrowed for the call; NULL and len 0
 * when there is none; at most FLEET_VALUE_MAX + 1 bytes are read, so a len
 * over FLEET_VALUE_MAX means a value too large, for the caller to refuse),
 * or err when the question could not be answered (timeout, connection lost).
 */
typedef void fleet_get_fn(void *arg, const unsigned char *val, size_t len, const char *err);

/* Reads <p>staple:<hex of key>. 0 (fn will be called), or -1 when not up (fn is not called). */
int fleet_get(struct fleet *f, const unsigned char *key, size_t klen, fleet_get_fn *fn, void *arg);

/* What fleet_lease came to. */
enum fleet_lease_result {
	FLEET_LEASE_LOST,	/* another node holds it: wait (seconds its lease has left) */
	FLEET_LEASE_WON,	/* this node fetches */
	FLEET_LEASE_CHANGED,	/* the staple changed since it was read: read it again */
};

/* An answer to fleet_lease (err: no answer; res is then LOST). */
typedef void fleet_lease_fn(void *arg, enum fleet_lease_result res, double wait, const char *err);

/*
 * Tries to take <p>lease:<hex> for ttl seconds, atomically with a check
 * that <p>staple:<hex> is still what the caller read (seen: the SHA-1 in
 * lower-case hex of those bytes, "" when there were none). 0, or -1 when
 * Redis cannot be asked.
 */
int fleet_lease(struct fleet *f, const unsigned char *key, size_t klen, const char *seen, double ttl,
    fleet_lease_fn *fn, void *arg);

/* Gives the lease back if this node still holds it (nothing to answer). */
void fleet_release(struct fleet *f, const unsigned char *key, size_t klen);

/*
 * Shares a verified staple: SET <p>staple:<hex> with an expiry of ttl
 * seconds, PUBLISH the key, release this node's lease. Nothing to answer;
 * nothing happens when not up.
 */
void fleet_put(struct fleet *f, const unsigned char *key, size_t klen, const unsigned char *der, size_t len,
    double ttl);

/* A new staple was announced for the key waited for (or the connection dropped: look again). */
typedef void fleet_announce_fn(void *arg);

/* Calls fn(arg) once, at the next announcement of key. 0, or -1 when not up or out of memory. */
int fleet_watch(struct fleet *f, const unsigned char *key, size_t klen, fleet_announce_fn *fn, void *arg);

/* arg no longer waits for key (nothing happens if it did not). */
void fleet_unwatch(struct fleet *f, const unsigned char *key, size_t klen, void *arg);

#endif
