/* store — see store.h. */
#include "store.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct put {
	char *certpath;			/* the certificate */
	char target[4096];		/* <certpath>.ocsp */
	char tmp[4096];			/* temporary file, "" until written */
	unsigned char *der;		/* bytes to write, owned */
	size_t len;			/* their length, 0 empties the staple */
	store_done_fn *done;		/* caller's callback */
	void *arg;			/* its argument */
	struct put *next;		/* in the queue */
};

struct store {
	struct ev_loop *loop;		/* the one event loop */
	ev_prepare commit;		/* runs once per loop iteration with work queued */
	struct put *queue;		/* writes waiting for the next commit */
	struct put **tail;		/* where the next one goes */
	int pending;			/* queued or being committed */
};

int store_staple_path(const char *certpath, char *buf, size_t len)
{
	return snprintf(buf, len, "%s.ocsp", certpath) < (int)len ? 0 : -1;
}

/* Writes p->der to a new temporary file next to the target (not yet flushed). 0, or -1 with *err. */
static int write_tmp(struct put *p, char **err)
{
	char dir[4096], base[4096];
	size_t off = 0;
	ssize_t n;
	int fd;

	snprintf(dir, sizeof(dir), "%s", p->target);
	snprintf(base, sizeof(base), "%s", p->target);
	if (snprintf(p->tmp, sizeof(p->tmp), "%s/.%s" STORE_TMP_MARK "XXXXXX",
	    dirname(dir), basename(base)) >= (int)sizeof(p->tmp)) {
		err_set(err, "%s: path too long", p->target);
		p->tmp[0] = '\0';
		return -1;
	}
	if ((fd = mkostemp(p->tmp, O_CLOEXEC)) == -1) {
		err_set(err, "%s: cannot create a temporary file (%s)", p->target, strerror(errno));
		p->tmp[0] = '\0';
		return -1;
	}
	if (fchmod(fd, 0644) == -1) {
		err_set(err, "%s: cannot set permissions (%s)", p->tmp, strerror(errno));
		goto fail;
	}
	while (off < p->len) {
		n = write(fd, p->der + off, p->len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err_set(err, "%s: cannot write (%s)", p->target, strerror(errno));
			goto fail;
		}
		off += (size_t)n;
	}
	if (close(fd) == -1) {
		fd = -1;
		err_set(err, "%s: cannot write (%s)", p->target, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (fd != -1)
		close(fd);
	unlink(p->tmp);
	p->tmp[0] = '\0';
	return -1;
}

static void put_free(struct put *p)
{
	if (p == NULL)
		return;
	free(p->certpath);
	free(p->der);
	free(p);
}

/* fsync(2) on the directory holding path, so that the rename itself is durable. */
static void sync_dir(const char *path)
{
	char dir[4096];
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	fsync(fd);
	close(fd);
}

/*
 * The batch: write every temporary file, flush them all to disk with one
 * syncfs(2) per file system, then rename each over its target, then flush
 * the directories. Until the rename the old staple is untouched.
 */
static void commit(struct store *s)
{
	struct put *batch = s->queue, *p, *next;
	char *err = NULL;
	dev_t synced[8];
	char lastdir[4096];
	int nsynced = 0;

	s->queue = NULL;
	s->tail = &s->queue;
	ev_prepare_stop(s->loop, &s->commit);
	for (p = batch; p != NULL; p = p->next) {
		struct stat st;
		int fd, i;

		if (write_tmp(p, &err) == -1) {
			p->done(p->arg, p->certpath, err);
			free(err);
			err = NULL;
			p->done = NULL;
			continue;
		}
		if (stat(p->tmp, &st) == -1)
			continue;
		for (i = 0; i < nsynced && synced[i] != st.st_dev; i++)
			;
		if (i < nsynced)
			continue;
		if ((fd = open(p->tmp, O_RDONLY | O_CLOEXEC)) != -1) {
			syncfs(fd);
			close(fd);
		}
		if (nsynced < (int)(sizeof(synced) / sizeof(synced[0])))
			synced[nsynced++] = st.st_dev;
	}
	for (p = batch; p != NULL; p = p->next) {
		if (p->done == NULL)
			continue;
		if (rename(p->tmp, p->target) == -1) {
			err_set(&err, "%s: cannot replace (%s)", p->target, strerror(errno));
			unlink(p->tmp);
			p->done(p->arg, p->certpath, err);
			free(err);
			err = NULL;
			p->done = NULL;
		}
	}
	lastdir[0] = '\0';
	for (p = batch; p != NULL; p = p->next) {
		char dir[4096];
		const char *d;

		if (p->done == NULL)
			continue;
		snprintf(dir, sizeof(dir), "%s", p->target);
		d = dirname(dir);
		if (strcmp(d, lastdir) != 0) {
			sync_dir(p->target);
			snprintf(lastdir, sizeof(lastdir), "%s", d);
		}
	}
	for (p = batch; p != NULL; p = next) {
		next = p->next;
		s->pending--;
		if (p->done != NULL)
			p->done(p->arg, p->certpath, NULL);
		put_free(p);
	}
}

static void on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)loop;
	(void)revents;
	commit(w->data);
}

struct store *store_new(struct ev_loop *loop)
{
	struct store *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->loop = loop;
	s->tail = &s->queue;
	ev_prepare_init(&s->commit, on_prepare);
	s->commit.data = s;
	return s;
}

void store_free(struct store *s)
{
	if (s == NULL)
		return;
	store_flush(s);
	free(s);
}

void store_put(struct store *s, const char *certpath, const unsigned char *der,
    size_t len, store_done_fn *done, void *arg)
{
	struct put *p = calloc(1, sizeof(*p));

	if (p == NULL || (p->certpath = strdup(certpath)) == NULL ||
	    (len > 0 && (p->der = malloc(len)) == NULL) ||
	    store_staple_path(certpath, p->target, sizeof(p->target)) == -1) {
		put_free(p);
		done(arg, certpath, "out of memory or path too long");
		return;
	}
	if (len > 0)
		memcpy(p->der, der, len);
	p->len = len;
	p->done = done;
	p->arg = arg;
	*s->tail = p;
	s->tail = &p->next;
	s->pending++;
	ev_prepare_start(s->loop, &s->commit);
}

void store_flush(struct store *s)
{
	while (s->queue != NULL)
		commit(s);
}

int store_pending(const struct store *s)
{
	return s->pending;
}
