/* haproxy-cfg — see haproxy-cfg.h. */
#include "haproxy-cfg.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *haproxy_cfg_norm_path(const char *s)
{
	size_t n = strlen(s);

	while (n > 1 && s[n - 1] == '/')
		n--;
	return strndup(s, n);
}

void haproxy_cfg_free(struct haproxy_cfg *cfg)
{
	if (cfg == NULL)
		return;
	strlist_free(&cfg->sockets);
	strlist_free(&cfg->other_sockets);
	strlist_free(&cfg->crts);
}

/*
 * Splits line into words the way HAProxy does for the parts we read: blanks
 * separate, '#' starts a comment, "..." and '...' quote, '\' escapes. Words
 * are written into line itself. Returns the number of words (at most max).
 */
static int cfg_words(char *line, char **w, int max)
{
	char *r = line, *o = line;
	int n = 0;

	for (;;) {
		char q = 0;

		while (*r == ' ' || *r == '\t' || *r == '\r' || *r == '\n')
			r++;
		if (*r == '\0' || *r == '#' || n == max)
			break;
		w[n++] = o;
		while (*r != '\0') {
			if (q == 0 && (*r == ' ' || *r == '\t' || *r == '\r' || *r == '\n'))
				break;
			if (q == 0 && (*r == '"' || *r == '\'')) {
				q = *r++;
				continue;
			}
			if (q != 0 && *r == q) {
				q = 0;
				r++;
				continue;
			}
			if (*r == '\\' && q != '\'' && r[1] != '\0')
				r++;
			*o++ = *r++;
		}
		if (*r != '\0')
			r++;
		*o++ = '\0';
		/* The output never overtakes the input: o <= r. */
	}
	return n;
}

/* crt path resolved as HAProxy does: relative paths under crt-base. */
static int cfg_add_crt(struct haproxy_cfg *cfg, const char *base,
    const char *crt, char **err)
{
	char buf[PATH_MAX];
	char *p = NULL;
	int rc = -1;

	if (crt[0] != '/' && base != NULL) {
		if (snprintf(buf, sizeof(buf), "%s/%s", base, crt) >= (int)sizeof(buf)) {
			err_set(err, "%s: crt path too long", crt);
			goto out;
		}
		crt = buf;
	}
	if ((p = haproxy_cfg_norm_path(crt)) == NULL || strlist_add_unique(&cfg->crts, p) == -1) {
		err_set(err, "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(p);
	return rc;
}

/* Each line of a crt-list: a certificate path first, then options/filters. */
static int cfg_read_crtlist(struct haproxy_cfg *cfg, const char *base,
    const char *path, char **err)
{
	FILE *f = NULL;
	char line[8192];
	char *w[4];
	int rc = -1;

	if ((f = fopen(path, "r")) == NULL) {
		err_set(err, "%s: cannot read crt-list (%s)", path, strerror(errno));
		goto out;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (cfg_words(line, w, 4) == 0)
			continue;
		if (cfg_add_crt(cfg, base, w[0], err) == -1)
			goto out;
	}
	if (ferror(f)) {
		err_set(err, "%s: read error", path);
		goto out;
	}
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	return rc;
}

int haproxy_cfg_read(const char *path, struct haproxy_cfg *cfg, char **err)
{
	FILE *f = NULL;
	char line[8192];
	char *w[64];
	char *base = NULL;
	int rc = -1, global = 0, proxy = 0;

	memset(cfg, 0, sizeof(*cfg));
	if ((f = fopen(path, "r")) == NULL) {
		err_set(err, "cannot read HAProxy config (%s)", strerror(errno));
		goto out;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		int n;

		if ((n = cfg_words(line, w, 64)) == 0)
			continue;
		if (strcmp(w[0], "global") == 0) {
			global = 1;
			proxy = 0;
			continue;
		}
		if (strcmp(w[0], "frontend") == 0 || strcmp(w[0], "listen") == 0) {
			global = 0;
			proxy = 1;	/* the sections whose bind lines serve TLS clients */
			continue;
		}
		if (strcmp(w[0], "defaults") == 0 || strcmp(w[0], "backend") == 0 ||
		    strcmp(w[0], "peers") == 0 || strcmp(w[0], "resolvers") == 0 ||
		    strcmp(w[0], "userlist") == 0 || strcmp(w[0], "program") == 0 ||
		    strcmp(w[0], "ring") == 0 || strcmp(w[0], "mailers") == 0 ||
		    strcmp(w[0], "cache") == 0 || strcmp(w[0], "http-errors") == 0) {
			global = proxy = 0;
			continue;
		}
		if (global && n >= 3 && strcmp(w[0], "stats") == 0 && strcmp(w[1], "socket") == 0) {
			const char *addr = w[2];
			int admin = 0;

			/* HAProxy's default level is "operator": too low for "commit ssl cert". */
			for (int i = 3; i + 1 < n; i++)
				if (strcmp(w[i], "level") == 0)
					admin = strcmp(w[i + 1], "admin") == 0;
			if (strncmp(addr, "unix@", 5) == 0)
				addr += 5;
			if (addr[0] == '/' && admin) {
				if (strlist_add_unique(&cfg->sockets, addr) == -1)
					goto nomem;
			} else if (strlist_add_unique(&cfg->other_sockets, addr) == -1) {
				goto nomem;
			}
			continue;
		}
		if (global && n >= 2 && strcmp(w[0], "crt-base") == 0) {
			free(base);
			if ((base = haproxy_cfg_norm_path(w[1])) == NULL)
				goto nomem;
			continue;
		}
		if (proxy && strcmp(w[0], "bind") == 0) {
			for (int i = 1; i + 1 < n; i++) {
				if (strcmp(w[i], "crt") == 0) {
					if (cfg_add_crt(cfg, base, w[++i], err) == -1)
						goto out;
				} else if (strcmp(w[i], "crt-list") == 0) {
					if (cfg_read_crtlist(cfg, base, w[++i], err) == -1)
						goto out;
				}
			}
		}
	}
	if (ferror(f)) {
		err_set(err, "read error");
		goto out;
	}
	rc = 0;
	goto out;
nomem:
	err_set(err, "out of memory");
out:
	if (rc == -1)
		haproxy_cfg_free(cfg);
	free(base);
	if (f != NULL)
		fclose(f);
	return rc;
}

int haproxy_cfg_crts(const struct strlist *cfgs, struct strlist *out,
    char **err)
{
	struct haproxy_cfg cfg;

	for (int i = 0; i < cfgs->n; i++) {
		if (haproxy_cfg_read(cfgs->v[i], &cfg, err) == -1) {
			err_prefix(err, cfgs->v[i]);
			return -1;
		}
		for (int j = 0; j < cfg.crts.n; j++) {
			if (strlist_add_unique(out, cfg.crts.v[j]) == -1) {
				haproxy_cfg_free(&cfg);
				err_set(err, "%s: out of memory", cfgs->v[i]);
				return -1;
			}
		}
		haproxy_cfg_free(&cfg);
	}
	return 0;
}
