/*
 * fsroot — file operations below the configured certificate paths, relative
 * to directory descriptors, so that a directory swapped for a symlink or a
 * planted symlink makes an error naming it, never a read or write elsewhere.
 *
 * The rule (DESIGN.md section 8):
 *  - a configured path (a cert-paths entry, file or directory) is the
 *    operator's choice and is opened as given, symlinks and all;
 *  - below a configured directory no directory symlink is followed: every
 *    component is opened with openat(O_DIRECTORY | O_NOFOLLOW);
 *  - the file itself follows the caller's policy (enum fsroot_follow).
 * A path below no configured path (unit tests, tools) is treated as if its
 * directory had been configured.
 *
 * The roots are copied; every function here may run on any thread.
 *
 * Errors are reasons (log.h): the caller names the path it passed; only a
 * component between the root and the file that was refused is named here
 * ("/certs/sub: a symbolic link below the configured directory /certs").
 */
#ifndef OCSPD_FSROOT_H
#define OCSPD_FSROOT_H

#include <stddef.h>

#define FSROOT_MISSING	(-2)	/* error return: the file does not exist */

enum fsroot_follow {
	FSROOT_NOFOLLOW,	/* never through a symlink (.ocsp, .issuer) */
	FSROOT_OWNED,		/* through a symlink only when root or the target's owner made it */
};

/* Replaces the configured paths (copied). 0, or -1 when out of memory (the old set stays). */
int fsroot_set(char *const *paths, int n);

/*
 * Opens the directory that holds the file path, as the rule says. Returns
 * the descriptor (caller closes) and sets *base to the file's name within
 * path (borrowed from path) and *configured to 1 when path itself is a
 * configured path; or -1 with *err (the reason, naming the component that
 * was refused if it is not path itself).
 */
int fsroot_open_dir(const char *path, const char **base, int *configured, char **err);

/*
 * Reads the whole regular file path (at most max bytes, 0 = no limit) into a
 * malloc'd buffer (caller frees). A FIFO or device is refused without
 * blocking. A symlink the policy refuses makes an error that says nothing
 * about its target (not even its size). 0, or -1 or FSROOT_MISSING with
 * *err (the reason, as fsroot_open_dir's).
 */
int fsroot_read(const char *path, enum fsroot_follow follow, size_t max,
    unsigned char **buf, size_t *len, char **err);

#endif
