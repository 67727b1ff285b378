/*
 * fuzz_haproxycfg — haproxy_cfg_read() on arbitrary haproxy.cfg contents
 * (through a memfd read back as /proc/self/fd/N). crt-list paths named by the
 * input may be opened; nothing is written.
 */
#include <stdlib.h>
#include <string.h>

#include "haproxy.h"
#include "fuzz_common.h"

static int memfd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_log_setup();
	memfd = fuzz_memfd("fuzz-haproxycfg", path, sizeof(path));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct haproxy_cfg cfg;
	char *err = NULL;
	int rc;

	fuzz_memfd_fill(memfd, data, size);
	memset(&cfg, 0, sizeof(cfg));
	rc = haproxy_cfg_read(path, &cfg, &err);
	if (rc == -1 && err == NULL)
		abort();	/* every failure says why */
	haproxy_cfg_free(&cfg);
	free(err);
	return 0;
}
