/* hook — see hook.h. */
#include "hook.h"
#include "log.h"
#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uthash.h>

#define CHANGED_ENV_MAX	65536	/* OCSPD_CHANGED stays well below execve's per-string cap */
#define OUT_LINE_MAX	1024	/* longest output line logged as one */

extern char **environ;

struct hook_path {
	char *path;			/* a certificate whose staple changed */
	UT_hash_handle hh;		/* in hook.changed */
};

struct hook_alert {
	struct hook_alert *next;	/* FIFO */
	char *event;			/* "revoked", "expiring" or "expired" */
	char *cert;			/* certificate path */
	char *detail;			/* free text, may be "" */
};

struct hook {
	struct ev_loop *loop;		/* the default loop (borrowed) */
	char *cmd;			/* --hook, or NULL */
	char *alert_cmd;		/* --alert-hook, or NULL */
	double timeout;			/* run time limit (s) */
	struct hook_path *changed;	/* certificates changed since the last run */
	double first_change;		/* ev_now() of the batch's first change */
	int due;			/* the debounce delay is over: run when idle */
	ev_timer debounce;		/* fires HOOK_DELAY after the last change */
	struct hook_alert *alerts;	/* alerts waiting for their run */
	struct hook_alert **alerts_tail; /* where the next alert goes */

	/* The running child, if pid != 0. */
	pid_t pid;			/* process (and process group) id */
	const char *label;		/* "hook" or "alert-hook", for logs */
	ev_child child;			/* its exit */
	ev_timer limit;			/* timeout, then the SIGKILL grace */
	int signalled;			/* 0, 1 = SIGTERM sent, 2 = SIGKILL sent */
	int outfd;			/* its stdout+stderr, -1 when closed */
	ev_io out;			/* outfd readable */
	char line[OUT_LINE_MAX];	/* partial output line */
	size_t linelen;			/* bytes in line */
	int infd;			/* its stdin, -1 when closed */
	ev_io in;			/* infd writable */
	char *input;			/* bytes for its stdin */
	size_t inlen;			/* bytes in input */
	size_t inoff;			/* bytes of input written */
};

static void run_next(struct hook *k);

/* ================================================================ child process */

static void out_line(struct hook *k)
{
	if (k->linelen > 0)
		log_info("%s: %.*s", k->label, (int)k->linelen, k->line);
	k->linelen = 0;
}

static void close_out(struct hook *k)
{
	ev_io_stop(k->loop, &k->out);
	if (k->outfd != -1)
		close(k->outfd);
	k->outfd = -1;
	out_line(k);
}

static void close_in(struct hook *k)
{
	ev_io_stop(k->loop, &k->in);
	if (k->infd != -1)
		close(k->infd);
	k->infd = -1;
	free(k->input);
	k->input = NULL;
	k->inlen = k->inoff = 0;
}

static void on_out(struct ev_loop *loop, ev_io *w, int revents)
{
	struct hook *k = w->data;
	char buf[4096];
	ssize_t r;

	(void)loop;
	(void)revents;
	while ((r = read(k->outfd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] == '\n') {
				out_line(k);
				continue;
			}
			if (k->linelen == sizeof(k->line))
				out_line(k);
			k->line[k->linelen++] = buf[i];
		}
	}
	if (r == 0 || (errno != EAGAIN && errno != EINTR))
		close_out(k);
}

static void on_in(struct ev_loop *loop, ev_io *w, int revents)
{
	struct hook *k = w->data;
	ssize_t n;

	(void)loop;
	(void)revents;
	while (k->inoff < k->inlen) {
		n = write(k->infd, k->input + k->inoff, k->inlen - k->inoff);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			/* EPIPE: the command does not read its stdin, which is fine. */
			break;
		}
		k->inoff += (size_t)n;
	}
	close_in(k);
}

static void on_child(struct ev_loop *loop, ev_child *w, int revents)
{
	struct hook *k = w->data;
	int st = w->rstatus;

	(void)revents;
	ev_child_stop(loop, &k->child);
	ev_timer_stop(loop, &k->limit);
	/* Collect what it said before it went; a lingering grandchild is not waited for. */
	if (k->outfd != -1)
		on_out(loop, &k->out, EV_READ);
	close_out(k);
	close_in(k);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		log_info("%s: done", k->label);
	else if (WIFEXITED(st))
		log_err("%s: command failed with exit status %d", k->label, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		log_err("%s: command killed by signal %d%s", k->label, WTERMSIG(st),
		    k->signalled ? " (timeout)" : "");
	k->pid = 0;
	k->signalled = 0;
	run_next(k);
}

static void on_limit(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hook *k = w->data;

	(void)revents;
	if (k->pid == 0)
		return;
	if (k->signalled == 0) {
		log_err("%s: command still running after %.0f s; sending SIGTERM", k->label, k->timeout);
		kill(-k->pid, SIGTERM);
		k->signalled = 1;
		ev_timer_set(&k->limit, HOOK_KILL_GRACE, 0.);
		ev_timer_start(loop, &k->limit);
	} else {
		log_err("%s: command ignored SIGTERM; sending SIGKILL", k->label);
		kill(-k->pid, SIGKILL);
		k->signalled = 2;
	}
}

/*
 * Starts /bin/sh -c cmd with extra environment entries env[0..nenv) ("K=V")
 * and input on its stdin (input is taken over, may be NULL). 0, or -1 (logged).
 */
static int run_start(struct hook *k, const char *label, const char *cmd,
    char **env, int nenv, char *input, size_t inlen)
{
	int inp[2] = { -1, -1 }, outp[2] = { -1, -1 };
	char **envp = NULL;
	char *argv[4];
	int n = 0, rc = -1;
	pid_t pid;

	for (char **e = environ; *e != NULL; e++)
		n++;
	if ((envp = calloc((size_t)(n + nenv + 1), sizeof(*envp))) == NULL) {
		log_err("%s: out of memory", label);
		goto out;
	}
	n = 0;
	for (char **e = environ; *e != NULL; e++)
		if (strncmp(*e, "OCSPD_", 6) != 0)
			envp[n++] = *e;
	for (int i = 0; i < nenv; i++)
		envp[n++] = env[i];
	argv[0] = "sh";
	argv[1] = "-c";
	argv[2] = (char *)cmd;
	argv[3] = NULL;
	if (pipe2(inp, O_CLOEXEC) == -1 || pipe2(outp, O_CLOEXEC) == -1) {
		log_err("%s: cannot create pipes (%s)", label, strerror(errno));
		goto out;
	}
	if ((pid = fork()) == -1) {
		log_err("%s: cannot fork (%s)", label, strerror(errno));
		goto out;
	}
	if (pid == 0) {
		/* Child of a threaded process: async-signal-safe calls only. */
		sigset_t none;
		struct sigaction dfl;

		setpgid(0, 0);
		dup2(inp[0], 0);
		dup2(outp[1], 1);
		dup2(outp[1], 2);
		close_range(3, ~0U, 0);
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigaction(SIGPIPE, &dfl, NULL);
		sigaction(SIGTERM, &dfl, NULL);
		sigaction(SIGINT, &dfl, NULL);
		sigaction(SIGHUP, &dfl, NULL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve("/bin/sh", argv, envp);
		_exit(127);
	}
	setpgid(pid, pid);	/* also here: no race with an early kill(-pid) */
	k->pid = pid;
	k->label = label;
	k->signalled = 0;
	close(inp[0]);
	close(outp[1]);
	inp[0] = outp[1] = -1;
	k->infd = inp[1];
	k->outfd = outp[0];
	inp[1] = outp[0] = -1;
	fcntl(k->infd, F_SETFL, fcntl(k->infd, F_GETFL) | O_NONBLOCK);
	fcntl(k->outfd, F_SETFL, fcntl(k->outfd, F_GETFL) | O_NONBLOCK);
	k->input = input;
	k->inlen = input != NULL ? inlen : 0;
	k->inoff = 0;
	input = NULL;
	ev_child_set(&k->child, pid, 0);
	ev_child_start(k->loop, &k->child);
	ev_io_set(&k->out, k->outfd, EV_READ);
	ev_io_start(k->loop, &k->out);
	ev_io_set(&k->in, k->infd, EV_WRITE);
	if (k->inlen > 0)
		ev_io_start(k->loop, &k->in);
	else
		close_in(k);
	ev_timer_set(&k->limit, k->timeout, 0.);
	ev_timer_start(k->loop, &k->limit);
	log_debug("%s: started pid %ld: %s", label, (long)pid, cmd);
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (inp[i] != -1)
			close(inp[i]);
		if (outp[i] != -1)
			close(outp[i]);
	}
	free(envp);
	free(input);
	return rc;
}

/* ================================================================ scheduling */

static char *env_str(const char *key, const char *val)
{
	char *s = NULL;

	if (asprintf(&s, "%s=%s", key, val != NULL ? val : "") == -1)
		return NULL;
	return s;
}

static void run_alert(struct hook *k, struct hook_alert *a)
{
	char *env[3] = { NULL, NULL, NULL };

	env[0] = env_str("OCSPD_EVENT", a->event);
	env[1] = env_str("OCSPD_CERT", a->cert);
	env[2] = env_str("OCSPD_DETAIL", a->detail);
	if (env[0] == NULL || env[1] == NULL || env[2] == NULL)
		log_err("%s: out of memory running the alert-hook", a->cert);
	else
		log_info("%s: running alert-hook (%s)", a->cert, a->event);
	if (env[0] != NULL && env[1] != NULL && env[2] != NULL)
		run_start(k, "alert-hook", k->alert_cmd, env, 3, NULL, 0);
	for (int i = 0; i < 3; i++)
		free(env[i]);
}

static void run_changed(struct hook *k)
{
	struct hook_path *p, *tmp;
	char *input = NULL, *env[2] = { NULL, NULL };
	size_t len = 0, envlen = 0;
	int n = 0, nenv = 1;

	HASH_ITER(hh, k->changed, p, tmp)
		len += strlen(p->path) + 1;
	if ((input = malloc(len + 1)) == NULL || (env[0] = malloc(len + 32)) == NULL) {
		log_err("hook: out of memory");
		goto out;
	}
	len = 0;
	envlen = (size_t)snprintf(env[0], 32, "OCSPD_CHANGED=");
	HASH_ITER(hh, k->changed, p, tmp) {
		size_t l = strlen(p->path);

		memcpy(input + len, p->path, l);
		input[len + l] = '\n';
		len += l + 1;
		/* The environment has a size limit; stdin always has the whole list. */
		if (envlen + l + 1 < CHANGED_ENV_MAX) {
			if (n > 0)
				env[0][envlen++] = '\n';
			memcpy(env[0] + envlen, p->path, l);
			envlen += l;
		} else if (env[1] == NULL) {
			env[1] = "OCSPD_CHANGED_TRUNCATED=1";
			nenv = 2;
		}
		n++;
		HASH_DEL(k->changed, p);
		free(p->path);
		free(p);
	}
	env[0][envlen] = '\0';
	log_info("hook: running for %d changed staple%s", n, n == 1 ? "" : "s");
	run_start(k, "hook", k->cmd, env, nenv, input, len);
	input = NULL;
out:
	free(input);
	free(env[0]);
}

static void run_next(struct hook *k)
{
	struct hook_alert *a;

	if (k->pid != 0)
		return;
	if ((a = k->alerts) != NULL) {
		k->alerts = a->next;
		if (k->alerts == NULL)
			k->alerts_tail = &k->alerts;
		run_alert(k, a);
		free(a->event);
		free(a->cert);
		free(a->detail);
		free(a);
		if (k->pid == 0)
			run_next(k);	/* it could not start: go on with the rest */
		return;
	}
	if (k->due && k->changed != NULL) {
		k->due = 0;
		run_changed(k);
	}
}

static void on_debounce(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hook *k = w->data;

	(void)loop;
	(void)revents;
	k->due = 1;
	run_next(k);
}

/* ================================================================ public */

struct hook *hook_new(struct ev_loop *loop, const char *cmd, const char *alert_cmd)
{
	struct hook *k = NULL;
	const char *t = getenv("OCSPD_HOOK_TIMEOUT");

	if ((k = calloc(1, sizeof(*k))) == NULL)
		goto fail;
	k->loop = loop;
	k->outfd = k->infd = -1;
	k->alerts_tail = &k->alerts;
	k->timeout = HOOK_TIMEOUT;
	if (t != NULL && atof(t) > 0)
		k->timeout = atof(t);
	ev_init(&k->debounce, on_debounce);
	ev_init(&k->limit, on_limit);
	ev_init(&k->child, on_child);
	ev_init(&k->out, on_out);
	ev_init(&k->in, on_in);
	k->debounce.data = k->limit.data = k->child.data = k->out.data = k->in.data = k;
	if (hook_reconfigure(k, cmd, alert_cmd) == -1)	/* sets the commands */
		goto fail;
	/* A hook that exits without reading its stdin must not kill us: main ignores SIGPIPE. */
	return k;
fail:
	hook_free(k);
	return NULL;
}

static void drop_changed(struct hook *k)
{
	struct hook_path *p, *tmp;

	ev_timer_stop(k->loop, &k->debounce);
	k->due = 0;
	HASH_ITER(hh, k->changed, p, tmp) {
		HASH_DEL(k->changed, p);
		free(p->path);
		free(p);
	}
}

static void drop_alerts(struct hook *k)
{
	struct hook_alert *a, *an;

	for (a = k->alerts; a != NULL; a = an) {
		an = a->next;
		free(a->event);
		free(a->cert);
		free(a->detail);
		free(a);
	}
	k->alerts = NULL;
	k->alerts_tail = &k->alerts;
}

int hook_reconfigure(struct hook *k, const char *cmd, const char *alert_cmd)
{
	char *c = NULL, *ac = NULL;

	if ((cmd != NULL && *cmd != '\0' && (c = strdup(cmd)) == NULL) ||
	    (alert_cmd != NULL && *alert_cmd != '\0' && (ac = strdup(alert_cmd)) == NULL)) {
		free(c);
		return -1;
	}
	/* The child under way ran the old command; only the next runs change. */
	free(k->cmd);
	free(k->alert_cmd);
	k->cmd = c;
	k->alert_cmd = ac;
	if (k->cmd == NULL && k->changed != NULL) {
		log_info("hook: turned off; pending changes dropped");
		drop_changed(k);
	}
	if (k->alert_cmd == NULL && k->alerts != NULL) {
		log_info("alert-hook: turned off; queued alerts dropped");
		drop_alerts(k);
	}
	return 0;
}

void hook_free(struct hook *k)
{
	if (k == NULL)
		return;
	if (k->pid != 0)
		log_warn("%s: leaving pid %ld to finish on its own", k->label, (long)k->pid);
	ev_timer_stop(k->loop, &k->limit);
	ev_child_stop(k->loop, &k->child);
	close_out(k);
	close_in(k);
	drop_changed(k);
	drop_alerts(k);
	free(k->cmd);
	free(k->alert_cmd);
	free(k);
}

void hook_changed(struct hook *k, const char *certpath)
{
	struct hook_path *p = NULL;
	double now, at;

	if (k == NULL || k->cmd == NULL)
		return;
	/* The watcher refuses such names; a path with a newline would be two lines to the hook. */
	if (!watch_name_clean(certpath)) {
		log_err("%s: not passed to the hook: the name contains a control character", certpath);
		return;
	}
	now = ev_now(k->loop);
	if (k->changed == NULL)
		k->first_change = now;
	HASH_FIND_STR(k->changed, certpath, p);
	if (p == NULL) {
		if ((p = calloc(1, sizeof(*p))) == NULL || (p->path = strdup(certpath)) == NULL) {
			free(p);
			log_err("%s: out of memory noting the change for the hook", certpath);
			return;
		}
		HASH_ADD_KEYPTR(hh, k->changed, p->path, strlen(p->path), p);
	}
	at = now + HOOK_DELAY;
	if (at > k->first_change + HOOK_DELAY_MAX)
		at = k->first_change + HOOK_DELAY_MAX;
	ev_timer_stop(k->loop, &k->debounce);
	ev_timer_set(&k->debounce, at > now ? at - now : 0., 0.);
	ev_timer_start(k->loop, &k->debounce);
}

void hook_alert(struct hook *k, const char *event, const char *certpath,
    const char *detail)
{
	struct hook_alert *a = NULL;

	if (k == NULL || k->alert_cmd == NULL)
		return;
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->event = strdup(event != NULL ? event : "")) == NULL ||
	    (a->cert = strdup(certpath != NULL ? certpath : "")) == NULL ||
	    (a->detail = strdup(detail != NULL ? detail : "")) == NULL) {
		if (a != NULL) {
			free(a->event);
			free(a->cert);
		}
		free(a);
		log_err("%s: out of memory queueing the alert-hook", certpath);
		return;
	}
	*k->alerts_tail = a;
	k->alerts_tail = &a->next;
	run_next(k);
}

int hook_busy(const struct hook *k)
{
	if (k == NULL)
		return 0;
	return k->pid != 0 || k->alerts != NULL || k->changed != NULL;
}
