/* priv — see priv.h. */
#include "priv.h"
#include "log.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Start size of the getpwnam_r/getgrnam_r buffer; doubled on ERANGE up to the cap. */
#define PRIV_BUF_START	1024
#define PRIV_BUF_MAX	(1024 * 1024)

/*
 * Looks up a user (uid non-NULL: *uid and its login group in *gid) or a group
 * (uid NULL: *gid) by name. 0, or -1 with *err saying whether it does not
 * exist or the lookup itself failed (NSS down).
 */
static int lookup(const char *name, uid_t *uid, gid_t *gid, char **err)
{
	struct passwd pw, *pwp = NULL;
	struct group gr, *grpp = NULL;
	size_t len = PRIV_BUF_START;
	char *buf = NULL, *nbuf;
	int is_group = uid == NULL, rc = -1, e;
	const char *what = is_group ? "group" : "user";

	for (;;) {
		if ((nbuf = realloc(buf, len)) == NULL) {
			err_set(err, "%s %s: out of memory", what, name);
			goto out;
		}
		buf = nbuf;
		if (is_group)
			e = getgrnam_r(name, &gr, buf, len, &grpp);
		else
			e = getpwnam_r(name, &pw, buf, len, &pwp);
		if (e != ERANGE || len >= PRIV_BUF_MAX)
			break;
		len *= 2;
	}
	/* "Not found" is 0 with a NULL result, though some NSS modules say ENOENT or ESRCH. */
	if (e != 0 && e != ENOENT && e != ESRCH) {
		err_set(err, "%s %s: cannot look it up (%s)", what, name, strerror(e));
		goto out;
	}
	if (is_group ? grpp == NULL : pwp == NULL) {
		err_set(err, "%s %s: no such %s", what, name, what);
		goto out;
	}
	if (is_group) {
		*gid = gr.gr_gid;
	} else {
		*uid = pw.pw_uid;
		*gid = pw.pw_gid;	/* the login group: the default for --group */
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

int priv_lookup(const char *user, const char *group, uid_t *uid, gid_t *gid, char **err)
{
	uid_t u;
	gid_t g;

	if (lookup(user, &u, &g, err) == -1 || (group != NULL && lookup(group, NULL, &g, err) == -1))
		return -1;
	*uid = u;
	*gid = g;
	return 0;
}

int priv_drop(const char *user, uid_t uid, gid_t gid, char **err)
{
	const char *who = user != NULL ? user : "?";
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (getresuid(&r, &e, &s) == -1 || getresgid(&rg, &eg, &sg) == -1) {
		err_set(err, "cannot switch to user %s: cannot read the current ids (%s)", who,
		    strerror(errno));
		return -1;
	}
	/* Started as that user already (by systemd's User=, or by hand): nothing to give up. */
	if (r == uid && e == uid && s == uid && rg == gid && eg == gid && sg == gid)
		return 0;
	if (e != 0) {
		err_set(err, "cannot switch to user %s: not running as root", who);
		return -1;
	}
	/* Groups first: once uid is no longer 0, they cannot be changed any more. */
	if (user != NULL ? initgroups(user, gid) == -1 : setgroups(0, NULL) == -1) {
		err_set(err, "cannot switch to user %s: cannot set its supplementary groups (%s)",
		    who, strerror(errno));
		return -1;
	}
	/*
	 * setres*id sets the saved id too, so nothing is left to switch back to;
	 * glibc applies them to every thread (the workers exist already).
	 */
	if (setresgid(gid, gid, gid) == -1) {
		err_set(err, "cannot switch to user %s: cannot set gid %u (%s)", who,
		    (unsigned)gid, strerror(errno));
		return -1;
	}
	if (setresuid(uid, uid, uid) == -1) {
		err_set(err, "cannot switch to user %s: cannot set uid %u (%s)", who,
		    (unsigned)uid, strerror(errno));
		return -1;
	}
	/* Trust, but verify: a half-done switch must not leave a way back to root. */
	if (getresuid(&r, &e, &s) == -1 || getresgid(&rg, &eg, &sg) == -1 ||
	    r != uid || e != uid || s != uid || rg != gid || eg != gid || sg != gid) {
		err_set(err, "cannot switch to user %s: ids are not %u/%u after the switch", who,
		    (unsigned)uid, (unsigned)gid);
		return -1;
	}
	if (uid != 0 && (setuid(0) != -1 || seteuid(0) != -1)) {
		err_set(err, "cannot switch to user %s: root can still be regained", who);
		return -1;
	}
	if (gid != 0 && uid != 0 && setegid(0) != -1) {
		err_set(err, "cannot switch to user %s: gid 0 can still be regained", who);
		return -1;
	}
	return 0;
}
