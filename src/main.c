/*
 * ocspd — keeps a verified OCSP staple next to every certificate.
 *
 * main wires the pipeline together (watch → renew → fetch/verify → store →
 * deliver), handles signals and --one-off, and is the only place that exits:
 * 2 for a usage or config error (out of memory while reading them included),
 * 1 when the daemon cannot start (out of memory in a set-up step included)
 * or a --one-off pass leaves a certificate without a staple. Once running,
 * nothing exits or aborts on a failed allocation (log.h: the out-of-memory
 * policy); a SIGHUP that runs out is a reload refused.
 */
#include "certcache.h"
#include "conf.h"
#include "deliver.h"
#include "fetch.h"
#include "fleet.h"
#include "haproxy.h"
#include "haproxy-cfg.h"
#include "log.h"
#include "metrics.h"
#include "priv.h"
#include "renew.h"
#include "responder.h"
#include "status.h"
#include "status-cmd.h"
#include "store.h"
#include "watch.h"
#include "work.h"

#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>
#include <openssl/x509_vfy.h>
#include <systemd/sd-daemon.h>

#define STATUS_DEBOUNCE	1.0	/* seconds between a change and the STATUS= update */

struct daemon {
	struct ev_loop *loop;		/* the one event loop */
	int argc;			/* command line, */
	char **argv;			/* kept for SIGHUP */
	struct conf conf;		/* current configuration */
	X509_STORE *trust;		/* current trust anchors */
	struct fetch *fetch;		/* the pipeline's stages, */
	struct store *store;		/* each owned here */
	struct work *work;		/* worker threads */
	struct renew *renew;		/* the certificates */
	struct deliver *deliver;	/* HAProxy and hooks */
	struct watch *watch;		/* inotify and rescans */
	struct status *status;		/* --status-listen server, or NULL */
	struct fleet *fleet;		/* --redis (fleet mode), or NULL until first configured */
	struct responder *responder;	/* --serve-ocsp responder, or NULL */
	ev_signal sigterm, sigint, sighup, sigusr1; /* stop, stop, reload, status */
	ev_prepare oneoff;		/* --one-off: checks for the end of the pass */
	ev_timer watchdog;		/* systemd watchdog keep-alive */
	ev_timer status_tick;		/* debounces STATUS= updates to systemd */
	int scanned;			/* the first scan is done */
	int ready;			/* READY=1 sent: the first pass is over */
	int stopping;			/* SIGTERM seen */
};

static int log_level_of(const struct conf *c)
{
	if (c->quiet)
		return LOG_LVL_ERR;
	return c->verbose > 0 ? LOG_LVL_DEBUG : LOG_LVL_INFO;
}

/* Trust anchors from --ca-file/--ca-path, or the system store. NULL with *err. */
static X509_STORE *trust_load(const struct conf *c, char **err)
{
	X509_STORE *s = X509_STORE_new();

	if (s == NULL) {
		err_set_ssl(err, "cannot create the trust store");
		return NULL;
	}
	if (c->ca_file != NULL && X509_STORE_load_file(s, c->ca_file) != 1) {
		err_set_ssl(err, "%s: cannot load trust anchors", c->ca_file);
		goto fail;
	}
	if (c->ca_path != NULL && X509_STORE_load_path(s, c->ca_path) != 1) {
		err_set_ssl(err, "%s: cannot use as a trust anchor directory", c->ca_path);
		goto fail;
	}
	if (c->ca_file == NULL && c->ca_path == NULL && X509_STORE_set_default_paths(s) != 1) {
		err_set_ssl(err, "cannot load the system trust store");
		goto fail;
	}
	return s;
fail:
	X509_STORE_free(s);
	return NULL;
}

/*
 * Loads the configuration; without --cert-paths, watches the crt paths of
 * the --haproxy-config files. Returns conf_load's result, with *err.
 */
static enum conf_result load_conf(struct conf *c, int argc, char **argv, char **err)
{
	enum conf_result r = conf_load(c, argc, argv, err);

	if (r != CONF_OK || c->cert_paths.n > 0)
		return r;
	if (haproxy_cfg_crts(&c->haproxy_config, &c->cert_paths, err) == -1) {
		conf_free(c);
		return CONF_ERROR;
	}
	if (c->cert_paths.n == 0) {
		err_set(err, "the haproxy-config files name no crt paths to watch");
		conf_free(c);
		return CONF_ERROR;
	}
	return CONF_OK;
}

static int busy(const struct daemon *d)
{
	return renew_busy(d->renew) || store_pending(d->store) || fetch_pending(d->fetch) ||
	    work_pending(d->work) || (d->deliver != NULL && deliver_busy(d->deliver)) ||
	    fleet_pending(d->fleet);
}

static void on_oneoff(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct daemon *d = w->data;

	(void)revents;
	if (!busy(d))
		ev_break(loop, EVBREAK_ALL);
}

static void on_stop(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->data;

	(void)revents;
	log_info("signal %d: finishing writes and exiting", w->signum);
	d->stopping = 1;
	store_flush(d->store);
	ev_break(loop, EVBREAK_ALL);
}

/*
 * --user: becomes that user for good, before any certificate or responder
 * data is parsed, and says so. 0, or -1 with *err (main must then exit: it
 * may still be root).
 */
static int become_user(const struct conf *c, uid_t uid, gid_t gid, char **err)
{
	const struct group *gr = c->group == NULL ? getgrgid(gid) : NULL;

	if (priv_drop(c->user, uid, gid, err) == -1)
		return -1;
	log_info("running as user %s (uid %u), group %s (gid %u)", c->user, (unsigned)uid,
	    c->group != NULL ? c->group : gr != NULL ? gr->gr_name : "?", (unsigned)gid);
	return 0;
}

/* Two optional strings (NULL = unset) say the same. */
static int same_str(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

/*
 * SIGHUP: once root is given up there is no becoming another user, so a new
 * user or group waits for a restart and the running ones stay in the
 * configuration (swapped into nc; old is freed next).
 */
static void keep_identity(struct conf *nc, struct conf *old)
{
	char *t;

	if (same_str(nc->user, old->user) && same_str(nc->group, old->group))
		return;
	log_warn("SIGHUP: user and group take effect at the next restart; still running as user %s, group %s",
	    old->user ? old->user : "(unchanged)", old->group ? old->group : "(the user's)");
	t = nc->user;
	nc->user = old->user;
	old->user = t;
	t = nc->group;
	nc->group = old->group;
	old->group = t;
}

/* --redis given (an empty value means none). */
static int fleet_wanted(const struct conf *c)
{
	return c->redis != NULL && c->redis[0] != '\0';
}

/* This node's name in the fleet's leases: --redis-node, else the host name. */
static const char *node_name(const struct conf *c, char *buf, size_t len)
{
	if (c->redis_node != NULL && c->redis_node[0] != '\0')
		return c->redis_node;
	if (gethostname(buf, len) == -1 || buf[0] == '\0')
		snprintf(buf, len, "ocspd-%ld", (long)getpid());
	buf[len - 1] = '\0';
	return buf;
}

/*
 * Fleet mode after start or SIGHUP: connects, reconnects to changed
 * settings, or stops (the renew cycle then works alone). 0, or -1 with *err
 * for a bad URL.
 */
static int fleet_apply(struct daemon *d, const struct conf *c, char **err)
{
	char host[256];

	if (!fleet_wanted(c)) {
		if (d->fleet != NULL)
			fleet_reconfigure(d->fleet, NULL, NULL, NULL, err);
		renew_set_fleet(d->renew, NULL);
		return 0;
	}
	if (d->fleet == NULL)
		d->fleet = fleet_new(d->loop, c->redis, c->redis_prefix, node_name(c, host, sizeof(host)), err);
	else if (fleet_reconfigure(d->fleet, c->redis, c->redis_prefix, node_name(c, host, sizeof(host)), err) == -1)
		return -1;
	if (d->fleet == NULL)
		return -1;
	renew_set_fleet(d->renew, d->fleet);
	return 0;
}

/* A --redis URL that fleet_apply would refuse: 0, or -1 with *err. */
static int fleet_check(const struct conf *c, char **err)
{
	struct fleet_url u;

	if (!fleet_wanted(c))
		return 0;
	if (fleet_url_parse(c->redis, &u, err) == -1)
		return -1;
	fleet_url_free(&u);
	return 0;
}

static void on_hup(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->data;
	struct conf nc;
	X509_STORE *nt = NULL;
	struct status *ns = NULL;
	struct responder *nr = NULL;
	int new_status, new_responder = 0;
	char *err = NULL;

	(void)loop;
	(void)revents;
	sd_notify(0, "RELOADING=1\nSTATUS=reloading the configuration");
	/* Everything that can fail comes before deliver_reconfigure, which applies. */
	if (load_conf(&nc, d->argc, d->argv, &err) != CONF_OK || fleet_check(&nc, &err) == -1 ||
	    (nt = trust_load(&nc, &err)) == NULL ||
	    ((new_status = !same_str(nc.status_listen, d->conf.status_listen)) && nc.status_listen != NULL &&
	    (ns = status_new(d->loop, nc.status_listen, d->renew, &err)) == NULL) ||
	    ((new_responder = !same_str(nc.serve_ocsp, d->conf.serve_ocsp)) && nc.serve_ocsp != NULL &&
	    (nr = responder_new(d->loop, nc.serve_ocsp, d->renew, &err)) == NULL) ||
	    deliver_reconfigure(d->deliver, &nc, &err) == -1) {
		log_err("SIGHUP: configuration not reloaded (%s)", err ? err : "unknown error");
		free(err);
		X509_STORE_free(nt);
		status_free(ns);
		responder_free(nr);
		conf_free(&nc);
		sd_notify(0, "READY=1\nSTATUS=configuration not reloaded; the old one stays in force");
		return;
	}
	if (log_setup(log_level_of(&nc), nc.syslog, nc.syslog_facility, nc.logdir, &err) == -1) {
		log_err("SIGHUP: %s; logging stays where it was", err);
		free(err);
	}
	if (new_status) {
		status_free(d->status);
		d->status = ns;
	}
	if (new_responder) {
		responder_free(d->responder);
		d->responder = nr;
	}
	nc.one_off = d->conf.one_off;
	keep_identity(&nc, &d->conf);
	X509_STORE_free(d->trust);
	d->trust = nt;
	conf_free(&d->conf);
	d->conf = nc;
	renew_reconfigure(d->renew, &d->conf, d->trust);
	if (fleet_apply(d, &d->conf, &err) == -1) {	/* checked above: out of memory only */
		log_err("SIGHUP: %s; working alone", err);
		free(err);
		err = NULL;
	}
	fetch_set_timeouts(d->fetch, d->conf.connect_timeout, d->conf.timeout);
	log_info("SIGHUP: configuration reloaded%s%s; rescanning", d->conf.config ? " from " : "",
	    d->conf.config ? d->conf.config : "");
	watch_reconfigure(d->watch, &d->conf);
	sd_notify(0, "READY=1");
}

static void on_usr1(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->data;

	(void)loop;
	(void)revents;
	renew_report(d->renew);
}

/*
 * Tells systemd where the certificates stand (STATUS=, shown by systemctl
 * status), and metrics when all is well. Runs STATUS_DEBOUNCE s after a change.
 */
static void on_status_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;
	char sum[160];

	(void)loop;
	(void)revents;
	if (renew_all_stapled(d->renew))
		metrics_pass_ok(ev_now(d->loop));
	renew_summary(d->renew, sum, sizeof(sum));
	sd_notifyf(0, "STATUS=%s", sum);
}

/* renew's observer: READY=1 once the first pass is over, then STATUS= updates. */
static void on_changed(void *arg)
{
	struct daemon *d = arg;

	if (d->conf.one_off || !d->scanned)
		return;
	if (!d->ready && renew_undecided(d->renew) == 0) {
		d->ready = 1;
		sd_notify(0, "READY=1");
		log_info("first pass done: every certificate stapled or failed");
		on_status_tick(d->loop, &d->status_tick, 0);
		return;
	}
	if (d->ready && !ev_is_active(&d->status_tick))
		ev_timer_start(d->loop, &d->status_tick);
}

static void on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	sd_notify(0, "WATCHDOG=1");
}

static void daemon_free(struct daemon *d)
{
	if (d->loop != NULL) {
		ev_signal_stop(d->loop, &d->sigterm);
		ev_signal_stop(d->loop, &d->sigint);
		ev_signal_stop(d->loop, &d->sighup);
		ev_signal_stop(d->loop, &d->sigusr1);
		ev_prepare_stop(d->loop, &d->oneoff);
		ev_timer_stop(d->loop, &d->watchdog);
		ev_timer_stop(d->loop, &d->status_tick);
	}
	watch_free(d->watch);
	if (d->store != NULL)
		store_flush(d->store);
	work_free(d->work);		/* before renew: jobs point at certificates */
	fetch_free(d->fetch);
	deliver_free(d->deliver);
	store_free(d->store);
	status_free(d->status);		/* before renew: it reads the certificates */
	responder_free(d->responder);	/* likewise */
	responder_free_orphans();	/* after fetch_free: no answer can land now */
	renew_free(d->renew);
	fleet_free(d->fleet);		/* after renew: certificates stop waiting for it */
	X509_STORE_free(d->trust);
	certcache_free();
	metrics_free();
	conf_free(&d->conf);
}

int main(int argc, char **argv)
{
	struct daemon d;
	char *err = NULL;
	uint64_t wd_usec;
	uid_t uid = 0;
	gid_t gid = 0;
	int known, stapled, refused, n, rc = 2;

	if (argc > 1 && strcmp(argv[1], "status") == 0)
		return status_command(argc - 1, argv + 1);
	memset(&d, 0, sizeof(d));
	d.argc = argc;
	d.argv = argv;
	switch (load_conf(&d.conf, argc, argv, &err)) {
	case CONF_OK:
		break;
	case CONF_EXIT_OK:
		conf_free(&d.conf);
		return 0;
	case CONF_ERROR:
		log_fatal("%s", err);
		free(err);
		conf_free(&d.conf);
		return 2;
	}
	/* A misspelt user stops the start before anything is opened. */
	if (d.conf.group != NULL && d.conf.user == NULL)
		err_set(&err, "group %s: --group needs --user", d.conf.group);
	if (err != NULL || (d.conf.user != NULL &&
	    priv_lookup(d.conf.user, d.conf.group, &uid, &gid, &err) == -1)) {
		log_fatal("%s", err);
		goto out;
	}
	/* Writes to a hook that stopped reading or a HAProxy that went away fail with EPIPE. */
	signal(SIGPIPE, SIG_IGN);
	if (log_setup(log_level_of(&d.conf), d.conf.syslog, d.conf.syslog_facility, d.conf.logdir, &err) == -1 ||
	    (d.trust = trust_load(&d.conf, &err)) == NULL) {
		log_fatal("%s", err);
		goto out;
	}
	/* Root opened the log file; the user must be able to write and reopen it. */
	if (d.conf.user != NULL && geteuid() == 0 && log_chown(uid, gid, &err) == -1) {
		log_fatal("%s", err);
		goto out;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		log_fatal("cannot initialise libcurl");
		goto out;
	}
	d.loop = EV_DEFAULT;
	d.fetch = fetch_new(d.loop, d.conf.connect_timeout, d.conf.timeout);
	d.store = store_new(d.loop);
	d.work = work_new(d.loop, d.conf.threads);
	if (d.fetch == NULL || d.store == NULL || d.work == NULL ||
	    (d.renew = renew_new(d.loop, &d.conf, d.trust, d.fetch, d.store, d.work)) == NULL) {
		log_fatal("out of memory");
		goto out;
	}
	/* Bound before privileges are dropped: a port below 1024 works. */
	if (d.conf.status_listen != NULL &&
	    (d.status = status_new(d.loop, d.conf.status_listen, d.renew, &err)) == NULL) {
		log_fatal("%s", err);
		goto out;
	}
	if (d.conf.serve_ocsp != NULL &&
	    (d.responder = responder_new(d.loop, d.conf.serve_ocsp, d.renew, &err)) == NULL) {
		log_fatal("%s", err);
		goto out;
	}
	if (d.conf.user != NULL && become_user(&d.conf, uid, gid, &err) == -1) {
		log_fatal("%s", err);
		goto out;
	}
	if ((d.deliver = deliver_new(d.loop, &d.conf, renew_foreach, d.renew, &err)) == NULL) {
		log_fatal("%s", err);
		goto out;
	}
	renew_set_deliver(d.renew, d.deliver);
	/* An unreachable Redis is not fatal (the network may not be up yet): it is retried. */
	if (fleet_apply(&d, &d.conf, &err) == -1) {
		log_fatal("%s", err);
		goto out;
	}

	ev_signal_init(&d.sigterm, on_stop, SIGTERM);
	ev_signal_init(&d.sigint, on_stop, SIGINT);
	ev_signal_init(&d.sighup, on_hup, SIGHUP);
	ev_signal_init(&d.sigusr1, on_usr1, SIGUSR1);
	d.sigterm.data = d.sigint.data = d.sighup.data = d.sigusr1.data = &d;
	ev_signal_start(d.loop, &d.sigusr1);
	ev_signal_start(d.loop, &d.sigterm);
	ev_signal_start(d.loop, &d.sigint);
	if (!d.conf.one_off)
		ev_signal_start(d.loop, &d.sighup);

	if ((d.watch = watch_new(d.loop, &d.conf, renew_file_event, d.renew)) == NULL) {
		log_fatal("out of memory");
		goto out;
	}
	watch_rescan(d.watch);
	refused = watch_refused(d.watch);
	renew_count(d.renew, &known, &stapled);
	log_info("watching %d certificate file%s", known, known == 1 ? "" : "s");

	if (d.conf.one_off) {
		watch_free(d.watch);	/* one pass: no inotify, no rescans */
		d.watch = NULL;
		ev_prepare_init(&d.oneoff, on_oneoff);
		ev_set_priority(&d.oneoff, EV_MINPRI);
		d.oneoff.data = &d;
		ev_prepare_start(d.loop, &d.oneoff);
	} else {
		ev_timer_init(&d.status_tick, on_status_tick, STATUS_DEBOUNCE, 0.);
		d.status_tick.data = &d;
		d.scanned = 1;
		renew_set_observer(d.renew, on_changed, &d);
		on_changed(&d);		/* nothing to wait for: ready now */
		if (sd_watchdog_enabled(0, &wd_usec) > 0) {
			ev_timer_init(&d.watchdog, on_watchdog, wd_usec / 2e6, wd_usec / 2e6);
			ev_timer_start(d.loop, &d.watchdog);
		}
	}
	ev_run(d.loop, 0);

	if (d.conf.one_off && !d.stopping) {
		renew_count(d.renew, &known, &stapled);
		log_info("one-off: %d of %d certificates have a valid staple", stapled, known);
		rc = known > 0 && stapled == known ? 0 : 1;
		if (known == 0 && refused == 0)
			log_err("no certificate files found");
		if (refused > 0) {
			log_err("one-off: %d certificate file%s refused for %s name", refused,
			    refused == 1 ? "" : "s", refused == 1 ? "its" : "their");
			rc = 1;
		}
		/* A socket that took the connection and then failed us: its HAProxy lacks staples. */
		if ((n = deliver_failed(d.deliver)) > 0) {
			log_err("one-off: %d HAProxy admin socket%s failed (see above)", n, n == 1 ? "" : "s");
			rc = 1;
		}
	} else {
		sd_notify(0, "STOPPING=1");
		rc = d.stopping ? 0 : 1;
	}
out:
	free(err);
	daemon_free(&d);
	if (d.loop != NULL)
		curl_global_cleanup();
	log_close();
	return rc;
}
