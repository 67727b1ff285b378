/* certcache — see certcache.h. */
#include "certcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static struct {
	unsigned char *der;		/* owned copy of the DER */
	long len;			/* its length */
	X509 *x;			/* owned reference */
} cache[CERTCACHE_SIZE];
static int cache_next;			/* entry replaced next */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static X509 *lookup(const unsigned char *der, long len)
{
	X509 *x = NULL;

	pthread_mutex_lock(&cache_lock);
	for (int i = 0; i < CERTCACHE_SIZE && x == NULL; i++)
		if (cache[i].len == len && memcmp(cache[i].der, der, (size_t)len) == 0) {
			x = cache[i].x;
			X509_up_ref(x);
		}
	pthread_mutex_unlock(&cache_lock);
	return x;
}

static void insert(const unsigned char *der, long len, X509 *x)
{
	unsigned char *copy = malloc((size_t)len);

	if (copy == NULL)
		return;
	memcpy(copy, der, (size_t)len);
	X509_up_ref(x);
	pthread_mutex_lock(&cache_lock);
	free(cache[cache_next].der);
	X509_free(cache[cache_next].x);
	cache[cache_next].der = copy;
	cache[cache_next].len = len;
	cache[cache_next].x = x;
	cache_next = (cache_next + 1) % CERTCACHE_SIZE;
	pthread_mutex_unlock(&cache_lock);
}

X509 *certcache_decode(const unsigned char *der, long len, certcache_keep_fn *keep)
{
	const unsigned char *p = der;
	X509 *x;

	if (len <= 0)
		return NULL;
	if ((x = lookup(der, len)) != NULL)
		return x;
	if ((x = d2i_X509(NULL, &p, len)) == NULL || p != der + len) {
		X509_free(x);
		return NULL;
	}
	if (keep == NULL || keep(x))
		insert(der, len, x);
	return x;
}

void certcache_free(void)
{
	pthread_mutex_lock(&cache_lock);
	for (int i = 0; i < CERTCACHE_SIZE; i++) {
		free(cache[i].der);
		X509_free(cache[i].x);
		cache[i].der = NULL;
		cache[i].len = 0;
		cache[i].x = NULL;
	}
	pthread_mutex_unlock(&cache_lock);
}
