/*
 * haproxy-cfg — reads a haproxy.cfg for what ocspd needs from it: the admin
 * stats sockets of its global section and the certificates ("crt",
 * "crt-list", resolved against "crt-base") of its frontend/listen bind
 * lines. haproxy.c maps those certificates to those sockets; main watches
 * them when no --cert-paths are given.
 *
 * Owns nothing between calls: what it reads goes into the caller's struct
 * haproxy_cfg or strlist (owned strings, freed by the caller). Errors follow
 * log.h: haproxy_cfg_read gives the reason and its caller names the
 * haproxy.cfg; a crt-list or crt it found there is named in the reason.
 */
#ifndef OCSPD_HAPROXY_CFG_H
#define OCSPD_HAPROXY_CFG_H

#include "strlist.h"

/* What a haproxy.cfg tells us. */
struct haproxy_cfg {
	struct strlist sockets;		/* unix "stats socket" paths at level admin */
	struct strlist other_sockets;	/* stats sockets we cannot use (not admin, not unix) */
	struct strlist crts;		/* crt files and directories, as HAProxy names them */
};

/*
 * Reads the stats sockets, crt-base, "crt" and "crt-list" of a haproxy.cfg
 * (crt-list files are read too). Relative crt paths are resolved against
 * crt-base as HAProxy does; each list holds a path once. 0, or -1 with *err
 * (cfg then holds nothing). Free with haproxy_cfg_free (NULL allowed).
 */
int haproxy_cfg_read(const char *path, struct haproxy_cfg *cfg, char **err);
void haproxy_cfg_free(struct haproxy_cfg *cfg);

/*
 * Every crt file or directory named by the haproxy.cfg files in cfgs,
 * appended to out unless already there (owned strings: strlist_free). For
 * main to watch when no --cert-paths are given. 0, or -1 with *err
 * ("FILE: reason").
 */
int haproxy_cfg_crts(const struct strlist *cfgs, struct strlist *out, char **err);

/*
 * A copy of path without trailing slashes ("/" stays "/"), as both
 * HAProxy's names and ours are compared. Caller frees; NULL when out of memory.
 */
char *haproxy_cfg_norm_path(const char *path);

#endif
