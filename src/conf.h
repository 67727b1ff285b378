/*
 * conf — command line and config file, one table for both.
 *
 * Every option has a long name that is also its config-file key, so
 * "--minimum-validity 3600" and "minimum-validity = 3600" mean the same.
 * The command line wins over the file. conf owns every string in struct conf;
 * conf_free() releases them.
 */
#ifndef OCSPD_CONF_H
#define OCSPD_CONF_H

#include <stdio.h>
#include "strlist.h"

struct conf {
	struct strlist cert_paths;	/* files or directories to watch */
	int recursive;			/* descend into sub-directories */
	struct strlist ignore;		/* fnmatch(3) patterns of names to skip */
	struct strlist extensions;	/* file extensions that count as certificates */
	double refresh_interval;	/* seconds between fallback rescans */
	double minimum_validity;	/* renew at least this long before nextUpdate */
	double maximum_interval;	/* ask again at least this often, whatever nextUpdate says */
	int threads;			/* worker threads for parse and verify */
	int no_recycle;			/* ignore existing staples at start */
	struct strlist haproxy_sockets;	/* "DIR=SOCKET" admin socket mappings */
	struct strlist haproxy_config;	/* haproxy.cfg files to learn mappings from */
	char *hook;			/* shell command run after staples change */
	char *alert_hook;		/* shell command run on revocation / expiry */
	double alert_before;		/* alert when a failing staple expires within this */
	char *ca_file;			/* trust anchors (PEM file), NULL = system */
	char *ca_path;			/* trust anchors (hashed directory) */
	double connect_timeout;		/* seconds to connect to a responder */
	double timeout;			/* seconds for a whole responder exchange */
	double default_validity;	/* validity assumed without nextUpdate */
	int nonce;			/* send a nonce and require it back */
	char *status_listen;		/* "ADDR:PORT" of the HTTP status server, or NULL */
	char *serve_ocsp;		/* "ADDR:PORT" of the local OCSP responder, or NULL */
	char *user;			/* drop privileges to this user, or NULL */
	char *group;			/* and this group (NULL: the user's) */
	int one_off;			/* one pass, then exit */
	char *config;			/* config file that was read, or NULL */
	int verbose;			/* -v count */
	int quiet;			/* only errors */
	int syslog;			/* log to syslog */
	char *syslog_facility;		/* syslog facility name, NULL = daemon */
	char *logdir;			/* log to DIR/ocspd.log */
	char *redis;			/* fleet mode: Redis URL, or NULL (may hold a password: never log it) */
	char *redis_prefix;		/* prefix of the fleet's keys */
	char *redis_node;		/* this node's lease name, NULL = the host name */
	double redis_lease;		/* seconds a lease lasts */
};


enum conf_result {
	CONF_OK = 0,		/* run */
	CONF_EXIT_OK,		/* --help or --version printed: exit 0 */
	CONF_ERROR,		/* usage or config error (already in *err): exit 2 */
};

/*
 * Build the configuration: defaults, then the config file (-c FILE, or the
 * first of ~/.ocspd.conf, /etc/ocspd/ocspd.conf), then the command line (a
 * list given there replaces the file's). Every numeric option is checked
 * against its range (the ranges[] table in conf.c), and connect-timeout
 * against timeout.
 * On CONF_ERROR, *err says what and where (caller frees). Unless CONF_OK
 * is returned, c holds nothing to free. conf_free() may be called twice.
 */
enum conf_result conf_load(struct conf *c, int argc, char **argv, char **err);

/*
 * Read one config file into c (keys as long options). Only a regular file of
 * at most 1 MiB is read (anything else is refused unopened or unread, so a
 * SIGHUP never waits on it); a key given twice is an error naming both lines,
 * except a list key, whose first line replaces c's list and later lines add.
 * Every number must lie in its option's range. 0, or -1 with *err
 * ("FILE:LINE: ..." where a line is to blame).
 */
int conf_read_file(struct conf *c, const char *path, char **err);

/*
 * The config file read without -c: ~/.ocspd.conf (spelled into buf), else
 * /etc/ocspd/ocspd.conf, whichever exists first; NULL when neither does.
 */
const char *conf_default_file(char *buf, size_t len);

void conf_free(struct conf *c);

/* The --help text (also the source of man/ocspd.8's option list). */
void conf_usage(FILE *out);

#endif
