/*
 * fuzz_conf — conf_read_file() on arbitrary config file contents. The bytes
 * go to a memfd read back through /proc/self/fd/N, so no disk is touched.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "conf.h"
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
	if ((memfd = memfd_create("fuzz-conf", 0)) == -1)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf c;
	char *err = NULL;
	int rc;

	if (ftruncate(memfd, 0) == -1 || pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();
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
