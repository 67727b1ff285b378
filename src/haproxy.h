/*
 * haproxy — pushes staples into running HAProxy processes over their admin
 * sockets, and maps certificates to sockets (--haproxy-sockets, and what
 * haproxy-cfg.c reads from --haproxy-config).
 *
 * Owns: the DIR -> SOCKET map (from --haproxy-sockets and --haproxy-config),
 * one kept-open, non-blocking connection per distinct socket path, and the
 * FIFO of commands written on it whose answers are still awaited.
 *
 * Per connection: "prompt" once, "set timeout cli", then any number of
 * "set ssl ocsp-response <base64>" written back to back; answers end with
 * "\n> " and are matched in order. A certificate HAProxy loaded without a
 * .ocsp file gets its staple through "set ssl cert <crt>.ocsp" + "commit".
 * A withdrawn staple leaves through "set ssl cert <crt>" with the bundle +
 * "commit" (haproxy_withdraw); that command alone holds key material, only
 * from the moment it is written until the write completes, then wiped.
 * A lost connection (or a HAProxy process that reports it is stopping) is
 * reconnected with backoff and every staple of its certificates pushed again.
 * Whatever the peer sends, it gets error lines and nothing else: answers
 * are bounded and time-limited, an answer to no command closes the
 * connection (see HAPROXY_ANSWER_TIMEOUT), certificate names are escaped.
 * Each push's outcome is counted once in metrics (updated, committed, failed).
 * A socket that does not exist yet is not an error: HAProxy may start later.
 */
#ifndef OCSPD_HAPROXY_H
#define OCSPD_HAPROXY_H

#include <stddef.h>
#include <ev.h>

#include "conf.h"
#include "deliver.h"

#define HAPROXY_BACKOFF_MIN	0.5	/* first reconnect delay (s) */
#define HAPROXY_BACKOFF_MAX	30.0	/* reconnect delays double up to this (s) */
#define HAPROXY_PROBE_EVERY	10.0	/* default "show info" period on an idle connection (s) */
#define HAPROXY_CLI_TIMEOUT	"1d"	/* "set timeout cli" value: never drop us */
/*
 * What a socket peer may cost us (issue 11): the oldest unanswered command
 * (or a connect in progress) must be done within HAPROXY_ANSWER_TIMEOUT, and
 * an answer must end with a prompt within HAPROXY_ANSWER_MAX bytes (a real
 * HAProxy answers each of our commands in a few ms and a few KiB); otherwise
 * the connection is closed, reported once, its unanswered pushes counted as
 * failed, and it is reconnected with backoff. The backoff is not reset by a
 * connect, only once a connection has proven itself: answered "show info"
 * as a running HAProxy (a Pid, not stopping) and stayed up
 * HAPROXY_PROVEN_AFTER. So a peer that accepts and then closes, never
 * answers, floods answers or always says "Stopping: 1" is retried at most
 * once per 30 s once the backoff has grown.
 */
#define HAPROXY_ANSWER_TIMEOUT	5.0	/* seconds for the oldest command to be answered */
#define HAPROXY_ANSWER_MAX	65536	/* bytes of one answer before its prompt */
#define HAPROXY_PROVEN_AFTER	5.0	/* seconds up (after a live "show info") that reset the backoff */
#define HAPROXY_SUCCESSOR_DELAY	0.05	/* reconnect delay after a proven process said it is stopping */

/* What an answer from the admin socket means. */
enum haproxy_answer {
	HAPROXY_ANS_EMPTY = 0,		/* nothing but the prompt: "prompt", "set timeout" */
	HAPROXY_ANS_UPDATED,		/* "OCSP Response updated!" */
	HAPROXY_ANS_NOT_LOADED,		/* certificate loaded without .ocsp: use set ssl cert */
	HAPROXY_ANS_TRANSACTION,	/* "Transaction created for certificate ..." */
	HAPROXY_ANS_COMMITTED,		/* "Committing ...\nSuccess!" */
	HAPROXY_ANS_OTHER,		/* anything else: an error to log with the text */
};

struct haproxy;

/* ---- pure helpers (unit tested) ---- */

/*
 * Classifies one answer (the text before "\n> "; len bytes, need not be
 * NUL-terminated). Leading "+ " payload prompts are ignored.
 */
enum haproxy_answer haproxy_classify(const char *answer, size_t len);

/*
 * Writes arg into out (size bytes, NUL-terminated) as one argument of a
 * HAProxy 2.6 CLI command line, so that HAProxy reads it back as arg and
 * nothing else. Its CLI (src/cli.c, cli_io_handler and cli_parse_request)
 * ends a command at '\n' or at a ';' not preceded by '\', splits arguments
 * at spaces and tabs, takes a line ending in "<<" as the start of a payload,
 * and removes one '\' before any byte ("\\" gives '\'). So every byte but
 * [A-Za-z0-9/._+=,:@%~-] and bytes >= 0x80 (UTF-8) gets a '\' before it.
 * Control bytes (0x01-0x1f, 0x7f) cannot be passed: '\' before a newline
 * joins two lines, a '\r' before the end of a line is dropped; an empty arg
 * is no argument. Returns the length written, or -1 with *err (the reason;
 * the caller names the certificate). Pure: unit tested with hostile names.
 */
int haproxy_quote_arg(const char *arg, char *out, size_t size, char **err);

/*
 * If path is dir itself or lies under it, returns the rest of path after dir
 * ("" or "/sub/file"); otherwise NULL. Trailing slashes of dir are ignored.
 */
const char *haproxy_path_under(const char *dir, const char *path);

/* ---- connections ---- */

/*
 * An empty set of sockets. foreach/ctx enumerate every stored staple (to push
 * them again after a reconnect). With one_off, a socket that cannot be
 * connected is given up at once instead of retried.
 */
struct haproxy *haproxy_new(struct ev_loop *loop, int one_off,
    deliver_foreach_fn *foreach, void *ctx);
void haproxy_free(struct haproxy *h);

/*
 * Certificates under dir (a file or directory, named as HAProxy loaded it)
 * are served by the admin socket at sock. 0, or -1 with *err when sock
 * exists but is not a socket.
 */
int haproxy_map(struct haproxy *h, const char *dir, const char *sock,
    char **err);

/* Adds the maps of c->haproxy_sockets and c->haproxy_config. 0, or -1 with *err. */
int haproxy_map_conf(struct haproxy *h, const struct conf *c, char **err);

/* Connects every mapped socket (call once the maps are in place). */
void haproxy_start(struct haproxy *h);

/*
 * SIGHUP: replaces the maps with those of c (read during the call only).
 * Checked first: on error returns -1 with *err and h is as it was. A socket
 * mapped before and after keeps its connection and what is queued on it,
 * and gets only the staples of certificates newly mapped to it; a socket no
 * longer mapped is closed (its queued pushes dropped); a new one is
 * connected and gets every staple. Also applies c->refresh_interval (probe
 * period); --one-off is the process's mode and stays as it started (main
 * keeps it across reloads too). 0 on success.
 */
int haproxy_reconfigure(struct haproxy *h, const struct conf *c, char **err);

/* Pushes one staple to every socket whose map holds certpath (der copied). */
void haproxy_push(struct haproxy *h, const char *certpath,
    const unsigned char *der, size_t len);

/*
 * Stops every socket whose map holds certpath from serving its staple:
 * "set ssl cert <crt> <<" with the bundle as on disk (certificate, chain,
 * key), then "commit ssl cert <crt>" (HAProxy 2.6 has no command that drops
 * a staple; an empty "set ssl cert <crt>.ocsp" keeps it). The bundle is
 * read only when the command is written, only if the file is still id
 * (else refused with an error), only its PEM blocks are sent (no blank line
 * can end the payload early), and the copy is wiped once written; it is
 * never logged. Logs "staple withdrawn from HAProxy <socket>". A socket
 * that is not connected is skipped (a HAProxy started later loads the
 * emptied .ocsp).
 */
void haproxy_withdraw(struct haproxy *h, const char *certpath,
    const struct deliver_ident *id);

/*
 * The PEM blocks of a bundle (text/len) as a CLI payload: every line from a
 * "-----BEGIN " line to its "-----END " line, "\r" dropped, blank lines and
 * everything outside the blocks left out, each line "\n"-terminated. No
 * control byte may remain; a block must end. Returns a malloc'd buffer
 * (caller wipes with OPENSSL_cleanse and frees) and *outlen, or NULL with
 * *err (never quoting the text). Pure: unit tested.
 */
char *haproxy_pem_payload(const char *text, size_t len, size_t *outlen, char **err);

#define HAPROXY_PEM_MAX	12288	/* bytes of bundle payload: HAProxy's CLI buffer is tune.bufsize (16384) */

/* Pushes written or queued but not answered yet, plus sockets still connecting. */
int haproxy_busy(const struct haproxy *h);

/*
 * --one-off: sockets given up after they accepted the connection (closed,
 * not answering in time, out of step) or that did not complete a connect;
 * main then exits 1. A socket that is absent or refuses is not counted:
 * HAProxy may simply not run.
 */
int haproxy_failed(const struct haproxy *h);

/* Number of distinct sockets mapped. */
int haproxy_count(const struct haproxy *h);

/*
 * How often an idle connection asks "show info" to notice a HAProxy worker
 * that is stopping after a reload (deliver uses --refresh-interval, so the
 * daemon wakes up no more often than its rescan tick).
 */
void haproxy_set_probe(struct haproxy *h, double every);

/*
 * For benchmarks only (bench/haproxy-push.c), never set by the daemon: with
 * on, one command is written per round trip instead of pipelining, the way
 * a "socat per staple" script talks to HAProxy. Call before haproxy_start.
 */
void haproxy_set_serial(struct haproxy *h, int on);

#endif
