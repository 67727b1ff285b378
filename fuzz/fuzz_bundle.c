/*
 * fuzz_bundle — bundle_parse() on arbitrary bytes: whatever a file in a
 * watched directory holds must give a struct bundle or an error, never a
 * crash, a leak or an out-of-bounds read.
 */
#include <stdlib.h>
#include <openssl/err.h>

#include "bundle.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bundle *b = NULL;
	char *err = NULL;

	if (bundle_parse(data, size, &b, &err) == 0) {
		if (b == NULL || b->leaf == NULL || b->n_urls < 0 || b->n_urls > BUNDLE_MAX_URLS)
			abort();
		for (int i = 0; i < b->n_urls; i++)
			if (b->urls[i] == NULL)
				abort();
	} else if (err == NULL) {
		abort();	/* every failure says why */
	}
	bundle_free(b);
	free(err);
	ERR_clear_error();
	return 0;
}
