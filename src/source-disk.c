/* source-disk — see source-disk.h. */
#include "source-disk.h"
#include "fetch.h"
#include "store.h"

int source_disk_read(const char *certpath, unsigned char **der, size_t *len, char **err)
{
	/* The cap of a fetched body: a bigger file is no staple anyone sent. */
	return store_read(certpath, FETCH_MAX_BODY, der, len, err);
}
