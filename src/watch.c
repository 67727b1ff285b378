/* watch — see watch.h. */
#include "watch.h"
#include "conf.h"
#include "fsroot.h"
#include "log.h"
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uthash.h>

#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | \
	IN_CREATE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
#define WATCH_MAX_DEPTH 32	/* deeper directories are not descended into */

struct known {
	char *path;			/* certificate file, owned */
	dev_t dev;			/* identity and version of what we last saw */
	ino_t ino;			/* (inode, */
	off_t size;			/* size, */
	struct timespec mtime;		/* mtime */
	struct timespec ctime;		/* and ctime: chmod/chown, e.g. a permission fixed) */
	unsigned gen;			/* last scan that saw it */
	UT_hash_handle hh;		/* by path */
};

struct wdir {
	int wd;				/* inotify watch descriptor */
	char *path;			/* directory, owned */
	int scanned;			/* a watched directory, not just a file's parent */
	ino_t ino;			/* the directory as last looked at: */
	struct timespec mtime;		/* a change inotify missed shows here */
	int stale;			/* had events in the inotify batch being read */
	UT_hash_handle hh;		/* by wd */
};

/* A certificate file whose name was refused (watch_name_clean), logged once. */
struct refused {
	char *path;			/* owned; the hash key */
	unsigned gen;			/* last scan that saw it */
	UT_hash_handle hh;		/* by path */
};

struct watch {
	struct ev_loop *loop;		/* the one event loop */
	const struct conf *c;		/* borrowed; replaced by watch_reconfigure */
	watch_fn *fn;			/* where events go */
	void *arg;			/* its argument */
	int ifd;			/* inotify descriptor, -1 when unavailable */
	ev_io inotify;			/* readiness of ifd */
	ev_timer rescan;		/* the fallback rescan */
	struct known *files;		/* every certificate file we know */
	struct wdir *dirs;		/* every watched directory */
	struct refused *refused;	/* names refused and already logged */
	unsigned gen;			/* current scan generation */
	int healthy;			/* inotify watches every directory */
	unsigned ticks;			/* rescan timer expiries */
};

/*
 * With inotify healthy, a timer tick only stats the watched directories and
 * rescans everything when one of them changed behind inotify's back, and
 * every WATCH_FULL_EVERY ticks anyway. Without inotify, every tick rescans.
 */
#define WATCH_FULL_EVERY 30

/* ---------------------------------------------------------------- filter */

static int ext_ok(const char *base, const struct conf *c)
{
	const char *dot = strrchr(base, '.');

	if (dot == NULL || dot == base)
		return 0;
	for (int i = 0; i < c->extensions.n; i++) {
		const char *e = c->extensions.v[i];

		if (*e == '.')
			e++;
		if (strcasecmp(dot + 1, e) == 0)
			return 1;
	}
	return 0;
}

/* Not a staple, not ours, not ignored; check_ext adds the extension rule. */
static int name_ok(const char *path, const struct conf *c, int check_ext)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base != NULL ? base + 1 : path;
	len = strlen(base);
	if (len == 0 || store_is_tmp(base))
		return 0;
	if ((len > 5 && strcmp(base + len - 5, ".ocsp") == 0) ||
	    (len > 7 && strcmp(base + len - 7, ".issuer") == 0))
		return 0;
	if (check_ext && !ext_ok(base, c))
		return 0;
	for (int i = 0; i < c->ignore.n; i++)
		if (fnmatch(c->ignore.v[i], base, 0) == 0 || fnmatch(c->ignore.v[i], path, 0) == 0)
			return 0;
	return 1;
}

int watch_wanted(const char *path, const struct conf *c)
{
	return name_ok(path, c, 1);
}

/* ---------------------------------------------------------------- refused names */

int watch_name_clean(const char *path)
{
	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

#define REFUSED_PRUNE 256	/* past this many, forget names not seen in the last two scans */

/*
 * True when path must not become a certificate because of its name; logged
 * the first time only (a rescan every few seconds must not repeat it).
 */
static int refuse_name(struct watch *w, const char *path)
{
	struct refused *r, *tmp;

	if (watch_name_clean(path))
		return 0;
	HASH_FIND_STR(w->refused, path, r);
	if (r != NULL) {
		r->gen = w->gen;
		return 1;
	}
	if (HASH_COUNT(w->refused) >= REFUSED_PRUNE) {
		HASH_ITER(hh, w->refused, r, tmp) {
			if (w->gen - r->gen > 1) {
				HASH_DEL(w->refused, r);
				free(r->path);
				free(r);
			}
		}
	}
	/* log.c shows the control bytes as \xNN: the line names the file without breaking. */
	log_err("%s: file name refused: it contains a control character (newline, tab, escape...), which "
	    "hooks, logs and HAProxy commands could not carry; rename the file", path);
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->path = strdup(path)) == NULL) {
		free(r);
		return 1;	/* logged again at the next scan: better than never */
	}
	r->gen = w->gen;
	HASH_ADD_KEYPTR(hh, w->refused, r->path, strlen(r->path), r);
	return 1;
}

int watch_refused(const struct watch *w)
{
	const struct refused *r, *tmp;
	int n = 0;

	HASH_ITER(hh, w->refused, r, tmp)
		n += r->gen == w->gen;
	return n;
}

/* ---------------------------------------------------------------- state */

static void forget(struct watch *w, struct known *k)
{
	HASH_DEL(w->files, k);
	w->fn(w->arg, k->path, WATCH_REMOVED);
	free(k->path);
	free(k);
}

/* A file that should be a certificate was seen with st: report what changed. */
static void seen(struct watch *w, const char *path, const struct stat *st)
{
	struct known *k;

	if (refuse_name(w, path))
		return;
	HASH_FIND_STR(w->files, path, k);
	if (k == NULL) {
		if ((k = calloc(1, sizeof(*k))) == NULL || (k->path = strdup(path)) == NULL) {
			free(k);
			log_err("%s: out of memory", path);
			return;
		}
		HASH_ADD_KEYPTR(hh, w->files, k->path, strlen(k->path), k);
	} else if (k->dev == st->st_dev && k->ino == st->st_ino && k->size == st->st_size &&
	    k->mtime.tv_sec == st->st_mtim.tv_sec && k->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	    k->ctime.tv_sec == st->st_ctim.tv_sec && k->ctime.tv_nsec == st->st_ctim.tv_nsec) {
		k->gen = w->gen;
		return;
	}
	int is_new = k->gen == 0;

	k->dev = st->st_dev;
	k->ino = st->st_ino;
	k->size = st->st_size;
	k->mtime = st->st_mtim;
	k->ctime = st->st_ctim;
	k->gen = w->gen;
	w->fn(w->arg, k->path, is_new ? WATCH_ADDED : WATCH_CHANGED);
}

/*
 * What a wanted name in the directory dfd is now: 1 to report (a file, or an
 * entry that cannot be read as one but must be named in an error: FIFO,
 * device, dangling or looping symlink), 0 to ignore (a directory), -1 when
 * it is gone. Only metadata: whether a symlinked file is read is bundle's
 * decision (fsroot.h).
 */
static int probe_at(int dfd, const char *name, struct stat *st)
{
	if (fstatat(dfd, name, st, 0) == 0)
		return S_ISDIR(st->st_mode) ? 0 : 1;
	return fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) == 0 ? 1 : -1;
}

/* probe_at for a path, its directory reached as fsroot says; -1 when that fails. */
static int probe(const char *path, struct stat *st)
{
	const char *base;
	int dfd, configured, rc;

	if ((dfd = fsroot_open_dir(path, &base, &configured, NULL)) == -1)
		return -1;
	rc = probe_at(dfd, base, st);
	close(dfd);
	return rc;
}

/* dir "/" name into buf, without doubling the slash of "/". 0, or -1 when it does not fit. */
static int join_path(char *buf, size_t size, const char *dir, const char *name)
{
	size_t n = strlen(dir);

	return snprintf(buf, size, "%s%s%s", dir, n > 0 && dir[n - 1] == '/' ? "" : "/", name) <
	    (int)size ? 0 : -1;
}

/* Looks at one path now; reports it added, changed or removed. */
static void check_path(struct watch *w, const char *path, int check_ext)
{
	struct known *k;
	struct stat st;

	if (name_ok(path, w->c, check_ext) && probe(path, &st) == 1) {
		seen(w, path, &st);
		return;
	}
	HASH_FIND_STR(w->files, path, k);
	if (k != NULL)
		forget(w, k);
}

/* Notes the directory's identity and mtime now. 0, or -1 when it is gone. */
static int remember_dir(struct wdir *d)
{
	struct stat st;

	if (d->path == NULL || stat(d->path, &st) == -1)
		return -1;
	d->ino = st.st_ino;
	d->mtime = st.st_mtim;
	return 0;
}

/* True when a watched directory differs from how it was last seen. */
static int dirs_changed(struct watch *w)
{
	struct wdir *d, *tmp;
	struct stat st;

	HASH_ITER(hh, w->dirs, d, tmp) {
		if (d->path == NULL || stat(d->path, &st) == -1 || st.st_ino != d->ino ||
		    st.st_mtim.tv_sec != d->mtime.tv_sec || st.st_mtim.tv_nsec != d->mtime.tv_nsec)
			return 1;
	}
	return 0;
}

/* nofollow: a directory below a configured one, never watched through a symlink. */
static void add_inotify(struct watch *w, const char *dir, int scanned, int nofollow)
{
	struct wdir *d;
	int wd;

	if (w->ifd == -1)
		return;
	if ((wd = inotify_add_watch(w->ifd, dir, WATCH_MASK | (nofollow ? IN_DONT_FOLLOW : 0))) == -1) {
		log_warn("%s: cannot watch with inotify (%s); relying on the rescan", dir, strerror(errno));
		w->healthy = 0;
		return;
	}
	HASH_FIND_INT(w->dirs, &wd, d);
	if (d != NULL) {
		d->scanned |= scanned;
		if (strcmp(d->path, dir) == 0) {
			remember_dir(d);
			return;
		}
		free(d->path);
	} else {
		if ((d = calloc(1, sizeof(*d))) == NULL)
			return;
		d->wd = wd;
		HASH_ADD_INT(w->dirs, wd, d);
	}
	d->scanned |= scanned;
	if ((d->path = strdup(dir)) == NULL) {
		/* Out of memory (log.h): this directory loses inotify, the rescan still covers it. */
		log_warn("%s: cannot watch with inotify (out of memory); relying on the rescan", dir);
		inotify_rm_watch(w->ifd, wd);
		HASH_DEL(w->dirs, d);
		free(d);
		w->healthy = 0;
		return;
	}
	remember_dir(d);
}

/*
 * Scans the directory dir, open as dfd (taken over and closed). Below the
 * configured directory every sub-directory is opened from its parent's
 * descriptor with O_NOFOLLOW: one swapped for a symlink is an error naming
 * it, never a scan of its target (and never a loop).
 */
static void scan_dir(struct watch *w, int dfd, const char *dir, int depth)
{
	DIR *dp;
	struct dirent *de;
	char path[PATH_MAX];
	struct stat st;
	int sfd;

	add_inotify(w, dir, 1, depth > 0);
	if ((dp = fdopendir(dfd)) == NULL) {
		log_err("%s: cannot read directory (%s)", dir, strerror(errno));
		close(dfd);
		return;
	}
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.' && (de->d_name[1] == '\0' ||
		    (de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		if (join_path(path, sizeof(path), dir, de->d_name) == -1)
			continue;
		if (de->d_type == DT_DIR || (de->d_type == DT_UNKNOWN &&
		    fstatat(dirfd(dp), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))) {
			if (!w->c->recursive || depth >= WATCH_MAX_DEPTH)
				continue;
			sfd = openat(dirfd(dp), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sfd == -1 && (errno == ELOOP || errno == ENOTDIR))
				log_err("%s: became a symbolic link or a file while being scanned; not followed", path);
			else if (sfd == -1)
				log_err("%s: cannot read directory (%s)", path, strerror(errno));
			else
				scan_dir(w, sfd, path, depth + 1);
			continue;
		}
		if (store_clean_stale(dirfd(dp), de->d_name, path))
			continue;
		if (name_ok(path, w->c, 1) && probe_at(dirfd(dp), de->d_name, &st) == 1)
			seen(w, path, &st);
	}
	closedir(dp);
}

/*
 * 1 when path is itself one of the configured cert paths (a file named on
 * the command line counts whatever its extension), 0 for anything found in
 * a watched directory.
 */
static int is_configured(const struct watch *w, const char *path)
{
	return strlist_has(&w->c->cert_paths, path);
}

void watch_rescan(struct watch *w)
{
	struct known *k, *tmp;
	struct stat st;

	if (++w->gen == 0)
		w->gen = 1;
	w->healthy = w->ifd != -1;
	for (int i = 0; i < w->c->cert_paths.n; i++) {
		const char *p = w->c->cert_paths.v[i];

		if (stat(p, &st) == -1) {
			log_err("%s: cannot watch (%s)", p, strerror(errno));
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			if (fd == -1)
				log_err("%s: cannot read directory (%s)", p, strerror(errno));
			else
				scan_dir(w, fd, p, 0);
		} else {
			char dir[PATH_MAX];
			const char *slash = strrchr(p, '/');

			snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - p) : 1, slash ? p : ".");
			add_inotify(w, slash == p ? "/" : dir, 0, 0);
			if (name_ok(p, w->c, 0))
				seen(w, p, &st);
		}
	}
	HASH_ITER(hh, w->files, k, tmp)
		if (k->gen != w->gen)
			forget(w, k);
}

/* ---------------------------------------------------------------- events */

static void on_inotify(struct ev_loop *loop, ev_io *io, int revents)
{
	struct watch *w = io->data;
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	char path[PATH_MAX];
	struct wdir *d, *dtmp;
	ssize_t n;
	int rescan = 0;

	(void)loop;
	(void)revents;
	while ((n = read(w->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *e = (struct inotify_event *)p;

			p += sizeof(*e) + e->len;
			if (e->mask & IN_Q_OVERFLOW) {
				rescan = 1;
				continue;
			}
			HASH_FIND_INT(w->dirs, &e->wd, d);
			if (d == NULL)
				continue;
			if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
				if (e->mask & IN_IGNORED) {
					HASH_DEL(w->dirs, d);
					free(d->path);
					free(d);
				}
				rescan = 1;
				continue;
			}
			if (e->len == 0)
				continue;
			d->stale = 1;
			if (e->mask & IN_ISDIR) {
				rescan |= w->c->recursive;
				continue;
			}
			if (join_path(path, sizeof(path), d->path, e->name) == -1)
				continue;
			/* A new regular file is looked at when its writer closes it; anything else now. */
			if (e->mask == IN_CREATE) {
				struct stat st;

				if (lstat(path, &st) == -1 || S_ISREG(st.st_mode))
					continue;
			}
			if (is_configured(w, path))
				check_path(w, path, 0);
			else if (d->scanned)
				check_path(w, path, 1);
		}
	}
	/* One stat per directory per batch, not per event: a burst of 2,000 files is one batch. */
	HASH_ITER(hh, w->dirs, d, dtmp)
		if (d->stale) {
			d->stale = 0;
			remember_dir(d);
		}
	if (rescan)
		watch_rescan(w);
}

static void on_rescan(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct watch *w = t->data;

	(void)loop;
	(void)revents;
	if (!w->healthy || ++w->ticks % WATCH_FULL_EVERY == 0 || dirs_changed(w))
		watch_rescan(w);
}

/* (Re)creates the inotify instance and the rescan timer for w->c. */
static void setup(struct watch *w)
{
	/* The configured paths are where every file operation starts (fsroot.h). */
	if (fsroot_set(w->c->cert_paths.v, w->c->cert_paths.n) == -1)
		log_err("out of memory: the configured paths were not updated");
	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->ifd == -1) {
		log_warn("inotify unavailable (%s); rescanning every %.0fs", strerror(errno),
		    w->c->refresh_interval);
	} else {
		ev_io_init(&w->inotify, on_inotify, w->ifd, EV_READ);
		w->inotify.data = w;
		ev_io_start(w->loop, &w->inotify);
	}
	ev_timer_init(&w->rescan, on_rescan, w->c->refresh_interval, w->c->refresh_interval);
	w->rescan.data = w;
	ev_timer_start(w->loop, &w->rescan);
}

static void teardown(struct watch *w)
{
	struct wdir *d, *tmp;

	if (w->ifd != -1) {
		ev_io_stop(w->loop, &w->inotify);
		close(w->ifd);
		w->ifd = -1;
	}
	ev_timer_stop(w->loop, &w->rescan);
	HASH_ITER(hh, w->dirs, d, tmp) {
		HASH_DEL(w->dirs, d);
		free(d->path);
		free(d);
	}
}

struct watch *watch_new(struct ev_loop *loop, const struct conf *c, watch_fn *fn,
    void *arg)
{
	struct watch *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->loop = loop;
	w->c = c;
	w->fn = fn;
	w->arg = arg;
	w->ifd = -1;
	setup(w);
	return w;
}

void watch_reconfigure(struct watch *w, const struct conf *c)
{
	teardown(w);
	w->c = c;
	setup(w);
	watch_rescan(w);
}

void watch_free(struct watch *w)
{
	struct known *k, *tmp;
	struct refused *r, *rtmp;

	if (w == NULL)
		return;
	teardown(w);
	HASH_ITER(hh, w->files, k, tmp) {
		HASH_DEL(w->files, k);
		free(k->path);
		free(k);
	}
	HASH_ITER(hh, w->refused, r, rtmp) {
		HASH_DEL(w->refused, r);
		free(r->path);
		free(r);
	}
	free(w);
}
