/*
 * fuzz_conf — conf_read_file() on arbitrary config file contents. The bytes
 * go to a memfd read back through /proc/self/fd/N, so no disk is touched.
 */
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf c;
	const char *path;
	char *err = NULL;
	int rc;

	path = fuzz_file("fuzz-conf", data, size);
	memset(&c, 0, sizeof(c));
	rc = conf_read_file(&c, path, &err);
	if (rc == -1 && err == NULL)
		abort();	/* every failure says why */
	if (rc == 0 && (c.threads < 0 || c.threads > 1024))
		abort();
	conf_free(&c);
	free(err);
	return 0;
}
