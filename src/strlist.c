/* strlist — see strlist.h. */
#include "strlist.h"

#include <stdlib.h>
#include <string.h>

int strlist_add(struct strlist *l, const char *s, size_t len)
{
	char *c = strndup(s, len);
	char **v;

	if (c == NULL)
		return -1;
	if ((v = realloc(l->v, sizeof(*v) * (size_t)(l->n + 2))) == NULL) {
		free(c);
		return -1;
	}
	v[l->n++] = c;
	v[l->n] = NULL;
	l->v = v;
	return 0;
}

int strlist_add_unique(struct strlist *l, const char *s)
{
	return strlist_has(l, s) ? 0 : strlist_add(l, s, strlen(s));
}

int strlist_add_split(struct strlist *l, const char *s)
{
	const char *end;
	size_t len;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if ((end = strchr(s, ',')) == NULL)
			end = s + strlen(s);
		len = (size_t)(end - s);
		while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (len > 0 && strlist_add(l, s, len) == -1)
			return -1;
		if (*end == '\0')
			return 0;
		s = end + 1;
	}
}

int strlist_has(const struct strlist *l, const char *s)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

void strlist_free(struct strlist *l)
{
	if (l == NULL)
		return;
	for (int i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
