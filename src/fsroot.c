/* fsroot — see fsroot.h. */
#include "fsroot.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_mutex_t roots_lock = PTHREAD_MUTEX_INITIALIZER;
static char **roots;		/* configured paths, owned */
static int n_roots;		/* entries in roots */

int fsroot_set(char *const *paths, int n)
{
	char **v = calloc((size_t)n + 1, sizeof(*v)), **old;
	int old_n;

	if (v == NULL)
		return -1;
	for (int i = 0; i < n; i++)
		if ((v[i] = strdup(paths[i])) == NULL) {
			while (i-- > 0)
				free(v[i]);
			free(v);
			return -1;
		}
	pthread_mutex_lock(&roots_lock);
	old = roots;
	old_n = n_roots;
	roots = v;
	n_roots = n;
	pthread_mutex_unlock(&roots_lock);
	for (int i = 0; i < old_n; i++)
		free(old[i]);
	free(old);
	return 0;
}

/*
 * How much of path is the configured directory it lies in: its length, 0
 * when path is itself a configured path or lies below none (then only its
 * own directory is trusted as given). The longest match wins: with both
 * /a and /a/b configured, /a/b is the operator's choice even as a symlink.
 */
static size_t root_len(const char *path, int *configured)
{
	size_t best = 0, n;

	*configured = 0;
	pthread_mutex_lock(&roots_lock);
	for (int i = 0; i < n_roots; i++) {
		const char *r = roots[i];

		n = strlen(r);
		if (strcmp(r, path) == 0) {
			*configured = 1;
			best = 0;
			break;
		}
		if (n > best && strncmp(r, path, n) == 0 && (path[n] == '/' || (n > 0 && r[n - 1] == '/')))
			best = n;
	}
	pthread_mutex_unlock(&roots_lock);
	return best;
}

/* Opens the trusted directory path[0..len) as given ("" is "."; a leading "/" alone is "/"). */
static int open_trusted(const char *path, size_t len, char **err)
{
	char dir[PATH_MAX];
	int fd;

	if (len == 0)
		snprintf(dir, sizeof(dir), "%s", path[0] == '/' ? "/" : ".");
	else if (len >= sizeof(dir)) {
		err_set(err, "path too long");
		return -1;
	} else
		snprintf(dir, sizeof(dir), "%.*s", (int)len, path);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		err_set(err, "cannot open directory %s (%s)", dir, strerror(errno));
	return fd;
}

int fsroot_open_dir(const char *path, const char **base, int *configured, char **err)
{
	const char *slash = strrchr(path, '/'), *p, *end;
	size_t rl = root_len(path, configured);
	char name[NAME_MAX + 1];
	int fd, next;

	*base = slash != NULL ? slash + 1 : path;
	if (**base == '\0') {
		err_set(err, "not a file name");
		return -1;
	}
	if (rl == 0)
		/* A configured file (or a path below no root): its directory as given. */
		return open_trusted(path, slash == NULL ? 0 : slash == path ? 1 : (size_t)(slash - path), err);
	if ((fd = open_trusted(path, rl, err)) == -1)
		return -1;
	/* Every component between the root and the file: a real directory, never a symlink. */
	for (p = path + rl; p < *base; p = end) {
		while (*p == '/')
			p++;
		if (p >= *base)
			break;
		end = strchr(p, '/');
		if ((size_t)(end - p) > NAME_MAX) {
			err_set(err, "name too long");
			goto fail;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(end - p), p);
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			err_set(err, "\"..\" below the configured directory %.*s", (int)rl, path);
			goto fail;
		}
		if ((next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
			struct stat st;
			int e = errno;

			if ((e == ELOOP || e == ENOTDIR) && fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode))
				err_set(err, "%.*s: a symbolic link below the configured directory %.*s; "
				    "not followed", (int)(end - path), path, (int)rl, path);
			else
				err_set(err, "%.*s: cannot open directory (%s)", (int)(end - path), path,
				    strerror(e));
			goto fail;
		}
		close(fd);
		fd = next;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/*
 * Opens a symlinked certificate the way fs.protected_symlinks would: only
 * when root or the owner of its target made the link, so that whoever can
 * write into a watched directory cannot make root read a file they could not
 * read themselves. The target must be a regular file before it is opened (a
 * device is never opened) and the same file after. fd, or -1 with *err.
 */
static int open_owned_link(int dfd, const char *name, int flags, char **err)
{
	struct stat lst, st, fst;
	int fd;

	if (fstatat(dfd, name, &lst, AT_SYMLINK_NOFOLLOW) == -1 || fstatat(dfd, name, &st, 0) == -1) {
		err_set(err, "cannot open (%s)", strerror(errno));
		return -1;
	}
	if (lst.st_uid != 0 && lst.st_uid != st.st_uid) {
		err_set(err, "a symbolic link made by uid %u to a file it does not own; not followed",
		    (unsigned)lst.st_uid);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(err, "not a regular file");
		return -1;
	}
	if ((fd = openat(dfd, name, flags)) == -1) {
		err_set(err, "cannot open (%s)", strerror(errno));
		return -1;
	}
	if (fstat(fd, &fst) == -1 || fst.st_dev != st.st_dev || fst.st_ino != st.st_ino) {
		err_set(err, "changed while being opened");
		close(fd);
		return -1;
	}
	return fd;
}

int fsroot_read(const char *path, enum fsroot_follow follow, size_t max,
    unsigned char **buf, size_t *len, char **err)
{
	/* O_NONBLOCK: a FIFO with a certificate's name must not hang the daemon. */
	const int flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
	const char *base;
	struct stat st;
	unsigned char *b = NULL;
	size_t got = 0;
	ssize_t n;
	int dfd, fd = -1, configured, rc = -1;

	if ((dfd = fsroot_open_dir(path, &base, &configured, err)) == -1)
		return -1;
	if ((fd = openat(dfd, base, flags | (configured ? 0 : O_NOFOLLOW))) == -1) {
		if (errno == ELOOP && follow == FSROOT_OWNED)
			fd = open_owned_link(dfd, base, flags, err);
		else if (errno == ELOOP)
			err_set(err, "a symbolic link; not followed (it must be a regular file)");
		else {
			rc = errno == ENOENT ? FSROOT_MISSING : -1;
			err_set(err, "cannot open (%s)", strerror(errno));
		}
		if (fd == -1)
			goto out;
	}
	if (fstat(fd, &st) == -1) {
		err_set(err, "cannot stat (%s)", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(err, "not a regular file");
		goto out;
	}
	if (max != 0 && (size_t)st.st_size > max) {
		err_set(err, "too large (%lld bytes, limit %zu)", (long long)st.st_size, max);
		goto out;
	}
	if ((b = malloc((size_t)st.st_size + 1)) == NULL) {
		err_set(err, "out of memory");
		goto out;
	}
	/* Read at most st_size + 1 to notice a file growing under us. */
	while (got <= (size_t)st.st_size) {
		n = read(fd, b + got, (size_t)st.st_size + 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err_set(err, "read failed (%s)", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got != (size_t)st.st_size) {
		err_set(err, "changed while being read");
		goto out;
	}
	*buf = b;
	*len = got;
	b = NULL;
	rc = 0;
out:
	free(b);
	if (fd != -1)
		close(fd);
	close(dfd);
	return rc;
}
