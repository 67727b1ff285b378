/*
 * fuzz_haproxy — haproxy_classify() on arbitrary admin-socket output. The
 * input is cut at every "\n> " prompt the way the connection reader does, and
 * each answer is classified, so both one answer and a stream of pipelined
 * answers are exercised. The input as a file name goes through
 * haproxy_quote_arg(): refused, or one argument that reads back as the name
 * with no unescaped ';', blank or newline in it.
 */
#include <stdlib.h>
#include <string.h>

#include "haproxy.h"
#include "fuzz_common.h"

static void check(enum haproxy_answer a)
{
	if (a < HAPROXY_ANS_EMPTY || a > HAPROXY_ANS_OTHER)
		abort();
}

/* Escaped as the HAProxy CLI reads it, q must say exactly name. */
static void check_quoted(const char *name, size_t nlen)
{
	char *q = malloc(2 * nlen + 2), *back = malloc(nlen + 1);
	size_t o = 0;
	int n;

	if (q == NULL || back == NULL)
		abort();
	n = haproxy_quote_arg(name, q, 2 * nlen + 2, NULL);
	if (n != -1) {
		if ((size_t)n != strlen(q))
			abort();
		for (int i = 0; i < n; i++) {
			if (q[i] == '\\')
				i++;
			else if (strchr(";\n \t<", q[i]) != NULL)
				abort();
			if (i >= n || o >= nlen)
				abort();
			back[o++] = q[i];
		}
		if (o != nlen || memcmp(back, name, nlen) != 0)
			abort();
	}
	free(q);
	free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	char *copy;

	/* The whole input as one answer, in an exact-size buffer (no NUL after). */
	if ((copy = malloc(size + 1)) == NULL)
		abort();
	memcpy(copy, data, size);
	check(haproxy_classify(copy, size));
	copy[size] = '\0';
	check_quoted(copy, strlen(copy));
	free(copy);

	while (p < end) {
		const char *q = memmem(p, (size_t)(end - p), "\n> ", 3);
		size_t n = q != NULL ? (size_t)(q - p) : (size_t)(end - p);

		if ((copy = malloc(n + 1)) == NULL)
			abort();
		memcpy(copy, p, n);
		check(haproxy_classify(copy, n));
		free(copy);
		if (q == NULL)
			break;
		p = q + 3;
	}
	return 0;
}
