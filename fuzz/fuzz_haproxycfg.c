/*
 * fuzz_haproxycfg — haproxy_cfg_read() on arbitrary haproxy.cfg contents
 * (through a memfd read back as /proc/self/fd/N). crt-list paths named by the
 * input may be opened; nothing is written.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "haproxy.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *err = NULL;

	(void)argc;
	(void)argv;
	if (log_setup(LOG_LVL_ERR, 0, NULL, &err) == -1)
		abort();
	if ((memfd = memfd_create("fuzz-haproxycfg", 0)) == -1)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct haproxy_cfg cfg;
	char *err = NULL;
	int rc;

	if (ftruncate(memfd, 0) == -1 || pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();
	memset(&cfg, 0, sizeof(cfg));
	rc = haproxy_cfg_read(path, &cfg, &err);
	if (rc == -1 && err == NULL)
		abort();	/* every failure says why */
	haproxy_cfg_free(&cfg);
	free(err);
	return 0;
}
