/*
 * fuzz_haproxycfg — haproxy_cfg_read() on arbitrary haproxy.cfg contents
 * (through a memfd read back as /proc/self/fd/N). crt-list paths named by the
 * input may be opened; nothing is written.
 */
#include <stdlib.h>
#include <string.h>

#include "haproxy-cfg.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct haproxy_cfg cfg;
	const char *path;
	char *err = NULL;
	int rc;

	path = fuzz_file("fuzz-haproxycfg", data, size);
	memset(&cfg, 0, sizeof(cfg));
	rc = haproxy_cfg_read(path, &cfg, &err);
	if (rc == -1 && err == NULL)
		abort();	/* every failure says why */
	haproxy_cfg_free(&cfg);
	free(err);
	return 0;
}
