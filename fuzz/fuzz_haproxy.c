/*
 * fuzz_haproxy — haproxy_classify() on arbitrary admin-socket output. The
 * input is cut at every "\n> " prompt the way the connection reader does, and
 * each answer is classified, so both one answer and a stream of pipelined
 * answers are exercised.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	char *copy;

	/* The whole input as one answer, in an exact-size buffer (no NUL after). */
	if ((copy = malloc(size + 1)) == NULL)
		abort();
	memcpy(copy, data, size);
	check(haproxy_classify(copy, size));
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
