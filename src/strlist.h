/*
 * strlist — a growable list of owned strings, for the option lists of conf
 * and what the haproxy.cfg reader collects.
 *
 * A list starts zeroed ({ NULL, 0 }); it owns every string in v and v itself,
 * and strlist_free releases them. v[n] is NULL when n > 0. Adding fails only
 * when out of memory: -1 and the list as it was (see oom.h), never abort.
 */
#ifndef OCSPD_STRLIST_H
#define OCSPD_STRLIST_H

#include <stddef.h>

struct strlist {
	char **v;			/* owned strings, NULL after the last */
	int n;				/* number of entries */
};

/* Appends a copy of the first len bytes of s. 0, or -1 when out of memory. */
int strlist_add(struct strlist *l, const char *s, size_t len);

/* Appends a copy of s unless the list holds it already. 0, or -1 when out of memory. */
int strlist_add_unique(struct strlist *l, const char *s);

/*
 * Appends the comma-separated items of s, blanks around them trimmed, empty
 * ones dropped. 0, or -1 when out of memory (items before it stay added).
 */
int strlist_add_split(struct strlist *l, const char *s);

/* 1 when the list holds s, else 0. */
int strlist_has(const struct strlist *l, const char *s);

/* Frees every string and v; the list is empty again. l may be NULL. */
void strlist_free(struct strlist *l);

#endif
