/*
 * priv — runs the daemon with no more privilege than it needs.
 *
 * main opens what needs root first (log file, status socket), then calls
 * priv_drop() before any certificate or responder data is parsed.
 */
#ifndef OCSPD_PRIV_H
#define OCSPD_PRIV_H

#include <sys/types.h>

/*
 * Looks up user and group (group NULL: the user's login group).
 * 0 with *uid and *gid set, or -1 with *err naming the one that does not exist.
 */
int priv_lookup(const char *user, const char *group, uid_t *uid, gid_t *gid,
    char **err);

/*
 * Becomes uid/gid for good, in every thread: supplementary groups of user
 * (user NULL: none), then gid, then uid (real, effective and saved), then
 * checks that root cannot be regained. Already running as exactly uid/gid
 * is fine and changes nothing; any other switch needs euid 0. 0, or -1 with
 * *err naming the user and the reason; the caller must not go on after -1
 * (it may still be root).
 */
int priv_drop(const char *user, uid_t uid, gid_t gid, char **err);

#endif
