/* deliver — TEMPORARY stub until the HAProxy/hook delivery lands (issue 4). */
#include "deliver.h"
#include <stdlib.h>

struct deliver {
	int unused;			/* placeholder */
};

struct deliver *deliver_new(struct ev_loop *loop, const struct conf *c,
    deliver_foreach_fn *foreach, void *ctx, char **err)
{
	(void)loop; (void)c; (void)foreach; (void)ctx; (void)err;
	return calloc(1, sizeof(struct deliver));
}
void deliver_free(struct deliver *d) { free(d); }
void deliver_staple(struct deliver *d, const char *certpath, const unsigned char *der, size_t len)
{ (void)d; (void)certpath; (void)der; (void)len; }
void deliver_alert(struct deliver *d, const char *event, const char *certpath, const char *detail)
{ (void)d; (void)event; (void)certpath; (void)detail; }
int deliver_busy(const struct deliver *d) { (void)d; return 0; }
