/* store — see store.h. */
#include "store.h"
#include "fsroot.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STORE_MAX_DIRS	64	/* directories open at once in a commit; more wait for the next one */

struct put {
	char *certpath;			/* the certificate */
	char target[4096];		/* <certpath>.ocsp */
	const char *base;		/* its name in target, once its directory is open */
	char tmp[NAME_MAX + 1];		/* temporary file's name in that directory, "" until written */
	int dir;			/* its index in store.dirs, -1 when err says why not */
	char *err;			/* why its directory could not be opened, owned */
	unsigned char *der;		/* bytes to write, owned */
	size_t len;			/* their length, 0 empties the staple */
	store_done_fn *done;		/* caller's callback */
	void *arg;			/* its argument */
	struct put *next;		/* in the queue */
};

struct sdir {
	char *path;			/* the directory as named by the targets, owned */
	int fd;				/* opened through fsroot: real directories only */
	dev_t dev;			/* its file system */
	int written;			/* a temporary file was written in it */
	int renamed;			/* a staple was renamed in it */
};

struct store {
	struct ev_loop *loop;		/* the one event loop */
	ev_prepare commit;		/* runs once per loop iteration with work queued */
	struct put *queue;		/* writes waiting for the next commit */
	struct put **tail;		/* where the next one goes */
	int pending;			/* queued or being committed */
	struct sdir dirs[STORE_MAX_DIRS];	/* directories of the commit running */
	int ndirs;			/* entries used in dirs[] */
};

int store_staple_path(const char *certpath, char *buf, size_t len)
{
	return snprintf(buf, len, "%s.ocsp", certpath) < (int)len ? 0 : -1;
}

int store_read(const char *certpath, size_t max, unsigned char **buf, size_t *len, char **err)
{
	char path[4096];
	int rc;

	*buf = NULL;
	*len = 0;
	if (store_staple_path(certpath, path, sizeof(path)) == -1) {
		err_set(err, "%s: path too long", certpath);
		return -1;
	}
	/* Only a regular file of ours: a symlink planted as the staple is never read. */
	rc = fsroot_read(path, FSROOT_NOFOLLOW, max, buf, len, err);
	/* The caller gave the certificate: the staple file is ours to name. */
	err_prefix(err, path);
	if (rc == FSROOT_MISSING) {
		free(err != NULL ? *err : NULL);
		if (err != NULL)
			*err = NULL;
		return 0;
	}
	return rc;
}

int store_is_tmp(const char *name)
{
	return strstr(name, STORE_TMP_MARK) != NULL;
}

int store_clean_stale(int dfd, const char *name, const char *path)
{
	struct stat st;

	if (!store_is_tmp(name))
		return 0;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	    st.st_mtime < time(NULL) - STORE_STALE_AGE && unlinkat(dfd, name, 0) == 0)
		log_info("%s: removed a temporary file left by an interrupted write", path);
	return 1;
}

/* A name no one can guess, so that nobody can plant a file or link under it first. */
static void tmp_name(struct put *p)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char rnd[8];
	char suffix[sizeof(rnd) + 1];
	static unsigned counter;

	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
		unsigned long long x = (unsigned long long)getpid() << 32 ^ (unsigned long long)time(NULL) ^ ++counter;

		memcpy(rnd, &x, sizeof(rnd));
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		suffix[i] = abc[rnd[i] % (sizeof(abc) - 1)];
	suffix[sizeof(rnd)] = '\0';
	if (snprintf(p->tmp, sizeof(p->tmp), ".%s" STORE_TMP_MARK "%s", p->base, suffix) >= (int)sizeof(p->tmp))
		p->tmp[0] = '\0';
}

/*
 * Writes p->der to a new temporary file in the target's directory, created
 * with O_EXCL | O_NOFOLLOW under a random name (not yet flushed). 0, or -1
 * with *err.
 */
static int write_tmp(struct put *p, int dfd, char **err)
{
	size_t off = 0;
	ssize_t n;
	int fd = -1, tries = 0;

	do {
		tmp_name(p);
		if (p->tmp[0] == '\0') {
			err_set(err, "%s: name too long for a temporary file", p->target);
			return -1;
		}
		fd = openat(dfd, p->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	} while (fd == -1 && errno == EEXIST && ++tries < 16);
	if (fd == -1) {
		err_set(err, "%s: cannot create a temporary file (%s)", p->target, strerror(errno));
		p->tmp[0] = '\0';
		return -1;
	}
	if (fchmod(fd, 0644) == -1) {
		err_set(err, "%s: cannot set permissions (%s)", p->target, strerror(errno));
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
	unlinkat(dfd, p->tmp, 0);
	p->tmp[0] = '\0';
	return -1;
}

static void put_free(struct put *p)
{
	if (p == NULL)
		return;
	free(p->certpath);
	free(p->err);
	free(p->der);
	free(p);
}

/*
 * Finds or opens the directory of p's target for this commit: sets p->dir
 * (or p->err). 0, or -1 when the table is full and p must wait.
 */
static int put_dir(struct store *s, struct put *p)
{
	const char *slash = strrchr(p->target, '/');
	size_t dl = slash != NULL ? (size_t)(slash - p->target) : 0;
	struct sdir *d;
	struct stat st;
	int i, configured, fd;

	/* Writes come in runs of one directory: try the last one first. */
	for (i = s->ndirs - 1; i >= 0; i--) {
		d = &s->dirs[i];
		if (strlen(d->path) == dl && strncmp(d->path, p->target, dl) == 0) {
			p->dir = i;
			p->base = slash != NULL ? slash + 1 : p->target;
			return 0;
		}
	}
	if (s->ndirs == STORE_MAX_DIRS)
		return -1;
	p->dir = -1;
	if ((fd = fsroot_open_dir(p->target, &p->base, &configured, &p->err)) == -1) {
		err_prefix(&p->err, p->target);
		return 0;
	}
	d = &s->dirs[s->ndirs];
	memset(d, 0, sizeof(*d));
	if ((d->path = strndup(p->target, dl)) == NULL) {
		close(fd);
		err_set(&p->err, "%s: out of memory", p->target);
		return 0;
	}
	d->fd = fd;
	d->dev = fstat(fd, &st) == 0 ? st.st_dev : 0;
	p->dir = s->ndirs++;
	return 0;
}

/* Reports p's failure once; p is then left out of the rest of the commit. */
static void put_failed(struct put *p, char *err)
{
	p->done(p->arg, p->certpath, err);
	p->done = NULL;
}

/*
 * The batch: write every temporary file, flush them all to disk with one
 * syncfs(2) per file system, then rename each over its target, then flush
 * the directories. Until the rename the old staple is untouched. Every step
 * is relative to the target's directory opened once for the commit, so a
 * directory swapped for a symlink meanwhile is never written through.
 */
static void commit(struct store *s)
{
	struct put *batch = NULL, **btail = &batch, *p, *next;
	char *err = NULL;
	int i, j;

	/* Take the queued writes whose directories fit; done() may queue more, so no callbacks yet. */
	while ((p = s->queue) != NULL && put_dir(s, p) == 0) {
		s->queue = p->next;
		p->next = NULL;
		*btail = p;
		btail = &p->next;
	}
	if (s->queue == NULL) {
		s->tail = &s->queue;
		ev_prepare_stop(s->loop, &s->commit);
	}
	for (p = batch; p != NULL; p = p->next) {
		if (p->dir == -1) {
			put_failed(p, p->err);
			continue;
		}
		if (write_tmp(p, s->dirs[p->dir].fd, &err) == -1) {
			put_failed(p, err);
			free(err);
			err = NULL;
			continue;
		}
		s->dirs[p->dir].written = 1;
	}
	for (i = 0; i < s->ndirs; i++) {
		for (j = 0; j < i && !(s->dirs[j].written && s->dirs[j].dev == s->dirs[i].dev); j++)
			;
		if (s->dirs[i].written && j == i)
			syncfs(s->dirs[i].fd);
	}
	for (p = batch; p != NULL; p = p->next) {
		int dfd;

		if (p->done == NULL)
			continue;
		dfd = s->dirs[p->dir].fd;
		if (renameat(dfd, p->tmp, dfd, p->base) == -1) {
			err_set(&err, "%s: cannot replace (%s)", p->target, strerror(errno));
			unlinkat(dfd, p->tmp, 0);
			put_failed(p, err);
			free(err);
			err = NULL;
			continue;
		}
		s->dirs[p->dir].renamed = 1;
	}
	/* So that the renames themselves are durable. */
	for (i = 0; i < s->ndirs; i++) {
		if (s->dirs[i].renamed)
			fsync(s->dirs[i].fd);
		close(s->dirs[i].fd);
		free(s->dirs[i].path);
	}
	s->ndirs = 0;
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
