/*
 * status-cmd — see status-cmd.h. A blocking libcurl client (json-c): a
 * command-line tool, not part of the daemon; it reads what status.c serves
 * and trusts none of it (every string is escaped before it is printed, the
 * answer is capped in size and time).
 */
#include "status-cmd.h"
#include "addr.h"
#include "conf.h"
#include "log.h"
#include "renew.h"
#include "version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <json-c/json.h>

#define STATUS_ASK_TIMEOUT	10L	/* seconds "ocspd status" waits for the whole answer */
#define STATUS_ASK_MAX		(256L << 20) /* largest /status answer "ocspd status" reads */

/* Exit statuses of "ocspd status", the Nagios plugin convention. */
enum {
	ASK_OK = 0,		/* every certificate fine */
	ASK_WARNING = 1,	/* renewal failing, a valid staple still served */
	ASK_CRITICAL = 2,	/* revoked, or failing without a valid staple */
	ASK_UNKNOWN = 3,	/* the daemon could not be asked */
};

/* ------------------------------------------------------------------------
 * Asking the daemon
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
	char host[ADDR_HOSTLEN], *url;
	const char *why;
	unsigned port;
	size_t len;

	if (addr_split(addr, host, &port, &why) == -1) {
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
	/* Fleet mode: a node working alone still staples; the line says why requests went up. */
	if (json_object_object_get_ex(root, "redis", &v) && json_object_is_type(v, json_type_object))
		printf("redis: %s (%s)\n", or_dash(jstr(v, "state")), or_dash(jstr(v, "url")));
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
