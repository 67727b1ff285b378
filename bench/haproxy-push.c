/*
 * haproxy-push — pushes every staple of a directory into one running HAProxy
 * through ocspd's own src/haproxy.c, and prints how long it took.
 *
 *   haproxy-push [-s] DIR SOCKET
 *
 * Reads DIR/<cert>.ocsp for every file in DIR that has one (non-empty),
 * connects, then hands all of them to haproxy_push() at once and runs the
 * event loop until HAProxy has answered every command. Prints
 * "pushed N staples in S s (E errors)" on stdout. With -s, haproxy.c writes
 * one command per round trip (haproxy_set_serial, the baseline); otherwise
 * commands are pipelined as the daemon does. Errors are logged on stderr.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <ev.h>

#include "haproxy.h"
#include "log.h"

struct staple {
	char *path;			/* certificate */
	unsigned char *der;		/* its staple */
	size_t len;			/* bytes in der */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int read_staple(const char *path, struct staple *s)
{
	char sp[4096];
	FILE *f;
	struct stat st;

	if (snprintf(sp, sizeof(sp), "%s.ocsp", path) >= (int)sizeof(sp) ||
	    stat(sp, &st) == -1 || st.st_size == 0 || (f = fopen(sp, "rb")) == NULL)
		return -1;
	s->len = (size_t)st.st_size;
	s->der = malloc(s->len);
	if (s->der == NULL || fread(s->der, 1, s->len, f) != s->len) {
		fclose(f);
		free(s->der);
		return -1;
	}
	fclose(f);
	s->path = strdup(path);
	return s->path != NULL ? 0 : -1;
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

/* Runs loop until nothing is pending; 0, or -1 after 600 s. */
static int drain(struct ev_loop *loop, struct haproxy *h)
{
	ev_timer tick;
	double until = now() + 600;

	ev_timer_init(&tick, on_tick, 0.05, 0.05);
	ev_timer_start(loop, &tick);
	while (haproxy_busy(h) > 0 && now() < until)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &tick);
	return haproxy_busy(h) > 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct ev_loop *loop = EV_DEFAULT;
	struct haproxy *h = NULL;
	struct staple *st = NULL;
	struct dirent *de;
	DIR *d = NULL;
	char *err = NULL, path[4096];
	size_t n = 0, cap = 0;
	double t0, t1;
	int rc = 1, serial = 0;

	if (argc == 4 && strcmp(argv[1], "-s") == 0) {
		serial = 1;
		argv++;
		argc--;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: haproxy-push [-s] DIR SOCKET\n");
		return 2;
	}
	if (log_setup(LOG_LVL_WARN, 0, NULL, NULL, &err) == -1)
		goto out;
	if ((d = opendir(argv[1])) == NULL) {
		perror(argv[1]);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l < 5 || strcmp(de->d_name + l - 4, ".pem") != 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			if ((st = realloc(st, cap * sizeof(*st))) == NULL)
				goto out;
		}
		if (snprintf(path, sizeof(path), "%s/%s", argv[1], de->d_name) < (int)sizeof(path) &&
		    read_staple(path, &st[n]) == 0)
			n++;
	}
	if ((h = haproxy_new(loop, 1, NULL, NULL)) == NULL ||
	    haproxy_map(h, argv[1], argv[2], &err) == -1) {
		fprintf(stderr, "haproxy-push: %s\n", err ? err : "out of memory");
		goto out;
	}
	haproxy_set_serial(h, serial);
	haproxy_start(h);
	if (drain(loop, h) == -1 || haproxy_count(h) != 1)
		goto out;
	t0 = now();
	for (size_t i = 0; i < n; i++)
		haproxy_push(h, st[i].path, st[i].der, st[i].len);
	if (n > 0 && haproxy_busy(h) == 0) {
		fprintf(stderr, "haproxy-push: not connected to %s\n", argv[2]);
		goto out;
	}
	if (drain(loop, h) == -1) {
		fprintf(stderr, "haproxy-push: HAProxy did not answer everything in 600 s\n");
		goto out;
	}
	t1 = now();
	printf("pushed %zu staples in %.3f s\n", n, t1 - t0);
	rc = 0;
out:
	haproxy_free(h);
	for (size_t i = 0; i < n; i++) {
		free(st[i].path);
		free(st[i].der);
	}
	free(st);
	free(err);
	if (d != NULL)
		closedir(d);
	return rc;
}
