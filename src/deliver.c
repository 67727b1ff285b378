/* deliver — see deliver.h. HAProxy pushes in haproxy.c, commands in hook.c. */
#include "deliver.h"
#include "conf.h"
#include "haproxy.h"
#include "hook.h"
#include "log.h"

#include <stdlib.h>

struct deliver {
	struct haproxy *haproxy;	/* admin sockets, possibly none */
	struct hook *hook;		/* --hook / --alert-hook, possibly off */
	deliver_observer_fn *observer;	/* tests only (see deliver.h), may be NULL */
	void *observer_arg;		/* its argument */
};

/* Tells the observer, if any, about one deliver_* call. */
static void observe(struct deliver *d, enum deliver_kind kind, const char *certpath,
    const unsigned char *der, size_t len, const char *event, const char *detail)
{
	struct deliver_event ev = { kind, certpath, der, len, event, detail };

	if (d->observer != NULL)
		d->observer(d->observer_arg, &ev);
}

void deliver_set_observer(struct deliver *d, deliver_observer_fn *fn, void *arg)
{
	d->observer = fn;
	d->observer_arg = arg;
}

struct deliver *deliver_new(struct ev_loop *loop, const struct conf *c,
    deliver_foreach_fn *foreach, void *ctx, char **err)
{
	struct deliver *d = NULL;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		goto nomem;
	if ((d->haproxy = haproxy_new(loop, c->one_off, foreach, ctx)) == NULL)
		goto nomem;
	haproxy_set_probe(d->haproxy, c->refresh_interval);
	if (haproxy_map_conf(d->haproxy, c, err) == -1)
		goto fail;
	if ((d->hook = hook_new(loop, c->hook, c->alert_hook)) == NULL)
		goto nomem;
	haproxy_start(d->haproxy);
	return d;
nomem:
	err_set(err, "out of memory");
fail:
	deliver_free(d);
	return NULL;
}

int deliver_reconfigure(struct deliver *d, const struct conf *c, char **err)
{
	/* HAProxy first: its maps are the part a config can get wrong, and it checks before it changes. */
	if (haproxy_reconfigure(d->haproxy, c, err) == -1)
		return -1;
	if (hook_reconfigure(d->hook, c->hook, c->alert_hook) == -1) {
		err_set(err, "out of memory");
		return -1;
	}
	return 0;
}

void deliver_free(struct deliver *d)
{
	if (d == NULL)
		return;
	haproxy_free(d->haproxy);
	hook_free(d->hook);
	free(d);
}

void deliver_staple(struct deliver *d, const char *certpath,
    const unsigned char *der, size_t len)
{
	if (d == NULL)
		return;
	observe(d, DELIVER_STAPLE, certpath, der, len, NULL, NULL);
	haproxy_push(d->haproxy, certpath, der, len);
	hook_changed(d->hook, certpath);
}

void deliver_recycled(struct deliver *d, const char *certpath,
    const unsigned char *der, size_t len)
{
	if (d == NULL)
		return;
	observe(d, DELIVER_RECYCLED, certpath, der, len, NULL, NULL);
	haproxy_push(d->haproxy, certpath, der, len);
}

void deliver_withdrawn(struct deliver *d, const char *certpath,
    const struct deliver_ident *id)
{
	if (d == NULL)
		return;
	observe(d, DELIVER_WITHDRAWN, certpath, NULL, 0, NULL, NULL);
	if (id != NULL)
		haproxy_withdraw(d->haproxy, certpath, id);
	hook_changed(d->hook, certpath);
}

void deliver_alert(struct deliver *d, const char *event, const char *certpath,
    const char *detail)
{
	if (d == NULL)
		return;
	observe(d, DELIVER_ALERT, certpath, NULL, 0, event, detail);
	hook_alert(d->hook, event, certpath, detail);
}

int deliver_busy(const struct deliver *d)
{
	if (d == NULL)
		return 0;
	return haproxy_busy(d->haproxy) + hook_busy(d->hook);
}

int deliver_failed(const struct deliver *d)
{
	return d != NULL ? haproxy_failed(d->haproxy) : 0;
}
