/* staples — see staples.h. */
#include "staples.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <openssl/evp.h>

/* Bytes of the CertID fields a key is the digest of (4 length bytes, NID, two hashes, serial). */
#define MATERIAL_MAX (4 + 4 + 3 * 255)

/*
 * One CertID and the certificates holding it. Nearly always one holder: it
 * is kept inline, further ones (the same certificate in several files) in
 * more[].
 */
struct entry {
	unsigned char key[STAPLES_KEY_MAX]; /* staples_key(); the hash key */
	size_t klen;			/* bytes used */
	const void *first;		/* a holder (borrowed), or NULL */
	const void **more;		/* further holders (borrowed) */
	int nmore, cap;			/* used, allocated in more[] */
	UT_hash_handle hh;		/* by key */
};

struct staples {
	staples_get_fn *get;		/* asks a holder for its staple */
	struct entry *entries;		/* by key */
};

struct staples *staples_new(staples_get_fn *get)
{
	struct staples *s = calloc(1, sizeof(*s));

	if (s != NULL)
		s->get = get;
	return s;
}

static void entry_free(struct entry *e)
{
	free(e->more);
	free(e);
}

void staples_free(struct staples *s)
{
	struct entry *e, *tmp;

	if (s == NULL)
		return;
	HASH_ITER(hh, s->entries, e, tmp) {
		HASH_DEL(s->entries, e);
		entry_free(e);
	}
	free(s);
}

/* Appends a length-prefixed field; 0 when it does not fit. */
static int put(unsigned char *buf, size_t *off, const unsigned char *p, size_t n)
{
	if (n > 255 || *off + 1 + n > MATERIAL_MAX)
		return 0;
	buf[(*off)++] = (unsigned char)n;
	memcpy(buf + *off, p, n);
	*off += n;
	return 1;
}

size_t staples_key(const OCSP_CERTID *id, unsigned char *buf)
{
	ASN1_OCTET_STRING *name_hash = NULL, *key_hash = NULL;
	ASN1_OBJECT *alg = NULL;
	ASN1_INTEGER *serial = NULL;
	unsigned char nid[4], *ser = NULL, m[MATERIAL_MAX];
	unsigned int dlen = 0;
	size_t off = 0;
	int n, ok;

	/* OCSP_id_get0_info takes a non-const id but only reads it. */
	if (!OCSP_id_get0_info(&name_hash, &alg, &key_hash, &serial, (OCSP_CERTID *)id) ||
	    name_hash == NULL || key_hash == NULL || alg == NULL || serial == NULL)
		return 0;
	n = OBJ_obj2nid(alg);
	nid[0] = (unsigned char)(n >> 24);
	nid[1] = (unsigned char)(n >> 16);
	nid[2] = (unsigned char)(n >> 8);
	nid[3] = (unsigned char)n;
	if ((n = i2d_ASN1_INTEGER(serial, &ser)) <= 0)
		return 0;
	ok = put(m, &off, nid, sizeof(nid)) &&
	    put(m, &off, ASN1_STRING_get0_data(name_hash), (size_t)ASN1_STRING_length(name_hash)) &&
	    put(m, &off, ASN1_STRING_get0_data(key_hash), (size_t)ASN1_STRING_length(key_hash)) &&
	    put(m, &off, ser, (size_t)n) &&
	    EVP_Digest(m, off, buf, &dlen, EVP_sha256(), NULL) && dlen == STAPLES_KEY_MAX;
	OPENSSL_free(ser);
	return ok ? STAPLES_KEY_MAX : 0;
}

int staples_add(struct staples *s, const unsigned char *key, size_t klen, const void *holder)
{
	struct entry *e;
	const void **h;

	if (klen == 0 || klen > STAPLES_KEY_MAX)
		return -1;
	HASH_FIND(hh, s->entries, key, klen, e);
	if (e == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL)
			return -1;
		memcpy(e->key, key, klen);
		e->klen = klen;
		e->first = holder;
		HASH_ADD(hh, s->entries, key[0], e->klen, e);
		return 0;
	}
	if (e->first == holder)
		return 0;
	for (int i = 0; i < e->nmore; i++)
		if (e->more[i] == holder)
			return 0;
	if (e->first == NULL) {
		e->first = holder;
		return 0;
	}
	if (e->nmore == e->cap) {
		int cap = e->cap ? e->cap * 2 : 2;

		if ((h = realloc(e->more, cap * sizeof(*h))) == NULL)
			return -1;
		e->more = h;
		e->cap = cap;
	}
	e->more[e->nmore++] = holder;
	return 0;
}

void staples_remove(struct staples *s, const unsigned char *key, size_t klen, const void *holder)
{
	struct entry *e;

	if (s == NULL || klen == 0 || klen > STAPLES_KEY_MAX)
		return;
	HASH_FIND(hh, s->entries, key, klen, e);
	if (e == NULL)
		return;
	if (e->first == holder)
		e->first = e->nmore > 0 ? e->more[--e->nmore] : NULL;
	else
		for (int i = 0; i < e->nmore; i++)
			if (e->more[i] == holder) {
				e->more[i] = e->more[--e->nmore];
				break;
			}
	/* An unused CertID is dropped: certificates come and go for months. */
	if (e->first == NULL) {
		HASH_DEL(s->entries, e);
		entry_free(e);
	}
}

/* Takes holder's staple into *out if it is valid longer than what *found says is there. */
static void pick(staples_get_fn *get, const void *holder, struct staple *out, int *found)
{
	struct staple st;

	if (holder != NULL && get(holder, &st) && (!*found || st.next_update > out->next_update)) {
		*out = st;
		*found = 1;
	}
}

int staples_lookup(const struct staples *s, const unsigned char *key, size_t klen, struct staple *out)
{
	return staples_lookup_by(s, key, klen, s->get, out);
}

int staples_lookup_by(const struct staples *s, const unsigned char *key, size_t klen,
    staples_get_fn *get, struct staple *out)
{
	struct entry *e;
	int found = 0;

	if (klen == 0 || klen > STAPLES_KEY_MAX)
		return -1;
	HASH_FIND(hh, s->entries, key, klen, e);
	if (e == NULL)
		return -1;
	pick(get, e->first, out, &found);
	for (int i = 0; i < e->nmore; i++)
		pick(get, e->more[i], out, &found);
	return found ? 0 : -1;
}

int staples_has(const struct staples *s, const unsigned char *key, size_t klen)
{
	return staples_holder(s, key, klen) != NULL;
}

const void *staples_holder(const struct staples *s, const unsigned char *key, size_t klen)
{
	struct entry *e;

	if (klen == 0 || klen > STAPLES_KEY_MAX)
		return NULL;
	HASH_FIND(hh, s->entries, key, klen, e);
	return e != NULL ? e->first : NULL;
}

size_t staples_count(const struct staples *s)
{
	return HASH_COUNT(s->entries);
}
