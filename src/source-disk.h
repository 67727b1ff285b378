/*
 * source-disk — the staple found on disk, <certfile>.ocsp, as the first
 * source of a certificate that was just found or changed (see source.h):
 * what HAProxy loaded at its start, what an earlier run stored, or what an
 * operator copied there. Its bytes are verified like any other answer; a
 * good one is held as it is (it is already stored), a revoked one is a
 * revocation, anything else is emptied so that no server staples it.
 */
#ifndef OCSPD_SOURCE_DISK_H
#define OCSPD_SOURCE_DISK_H

#include <stddef.h>

/*
 * Reads certpath's staple (store_read: a regular file, at most
 * FETCH_MAX_BODY bytes). Safe on worker threads. 0 with *der (caller frees;
 * NULL and *len 0 when there is none or it is empty), or -1 with *err
 * (caller frees; it names the file) when it cannot be read.
 */
int source_disk_read(const char *certpath, unsigned char **der, size_t *len, char **err);

#endif
