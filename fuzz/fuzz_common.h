/*
 * fuzz_common.h — harness code shared by the fuzz targets: the libFuzzer
 * entry points, quiet logging, and a memfd standing in for a file on disk.
 * Each target includes it once; everything here is static.
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

/* Errors only, to stderr: the targets' parsers log every bad input. Aborts on failure. */
static inline void fuzz_log_setup(void)
{
	char *err = NULL;

	if (log_setup(LOG_LVL_ERR, 0, NULL, &err) == -1)
		abort();
}

/*
 * A memfd named name, its /proc/self/fd/N path written to path (size len),
 * so a parser that opens a file by name reads the fuzz input without
 * touching the disk. Returns the descriptor; aborts on failure.
 */
static inline int fuzz_memfd(const char *name, char *path, size_t len)
{
	int fd;

	if ((fd = memfd_create(name, 0)) == -1)
		abort();
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

/* Make the memfd fd hold exactly data[0..size). Aborts on failure. */
static inline void fuzz_memfd_fill(int fd, const uint8_t *data, size_t size)
{
	if (ftruncate(fd, 0) == -1 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
}

#endif
