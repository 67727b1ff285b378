/*
 * fuzz_common.h — harness code shared by the fuzz targets: the libFuzzer
 * entry points, quiet logging, and a memfd standing in for a file on disk.
 * Each target includes it once. It also defines LLVMFuzzerInitialize (logging
 * only) unless the target defines FUZZ_OWN_INIT before including it.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/types.h>

#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Log errors only, not to syslog, so a long run stays readable. Aborts on failure. */
static inline void fuzz_log_setup(void)
{
	char *err = NULL;

	if (log_setup(LOG_LVL_ERR, 0, NULL, NULL, &err) == -1)
		abort();
}

/*
 * The path of a file holding exactly data[0..size): a memfd (made on the first
 * call, named name) read back through /proc/self/fd/N, so a parser that opens
 * a file by name reads the fuzz input without touching the disk. The path
 * stays valid for the whole run. Aborts on failure.
 */
static inline const char *fuzz_file(const char *name, const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];

	if (fd == -1) {
		if ((fd = memfd_create(name, 0)) == -1)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) == -1 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	return path;
}

#ifndef FUZZ_OWN_INIT
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_log_setup();
	return 0;
}
#endif

#endif
