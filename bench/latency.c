/*
 * latency — how long a watching ocspd takes from a new certificate file to
 * its staple.
 *
 *   latency [-i INTERVAL_MS] [-t TIMEOUT_S] [-o FILE] SRCDIR DSTDIR COUNT
 *
 * Takes the first COUNT *.pem files of SRCDIR (by name), and every
 * INTERVAL_MS (default 20) drops the next one into DSTDIR the way a
 * deployment tool does: written as DSTDIR/.NAME.tmp, then renamed to
 * DSTDIR/NAME. The clock starts at the rename and stops when inotify reports
 * DSTDIR/NAME.ocsp written (moved in or closed after writing) with a
 * non-zero size. Prints on stdout:
 *   files=N stapled=M p50_ms=.. p90_ms=.. p99_ms=.. max_ms=..
 * (percentiles by nearest rank over the stapled files; -o FILE gets one
 * latency per line). Exit 0 when every file got its staple before TIMEOUT_S
 * (default 10) after the last drop, else 1.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct drop {
	char name[256];		/* file name (in SRCDIR and DSTDIR) */
	double start;		/* when it was renamed into place (s, monotonic) */
	double ms;		/* staple latency, or -1 */
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct drop *)a)->name, ((const struct drop *)b)->name);
}

static int by_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Copies src to dst through dst's ".NAME.tmp" and a rename; 0 or -1. */
static int drop_file(const char *srcdir, const char *dstdir, const char *name)
{
	char src[4096], tmp[4096], dst[4096], buf[65536];
	int in, out;
	ssize_t n;

	snprintf(src, sizeof(src), "%s/%s", srcdir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dstdir, name);
	snprintf(dst, sizeof(dst), "%s/%s", dstdir, name);
	if ((in = open(src, O_RDONLY)) == -1)
		return -1;
	if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			n = -1;
	close(in);
	if (close(out) == -1 || n < 0)
		return -1;
	return rename(tmp, dst);
}

/* Marks the drop whose staple inotify named, if any. */
static void seen(struct drop *d, int count, const char *dstdir, const char *name)
{
	size_t len = strlen(name);
	char path[4096];
	struct stat st;

	if (len < 6 || strcmp(name + len - 5, ".ocsp") != 0)
		return;
	for (int i = 0; i < count; i++) {
		if (d[i].ms >= 0 || d[i].start == 0 ||
		    strlen(d[i].name) != len - 5 ||
		    strncmp(d[i].name, name, len - 5) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dstdir, name);
		if (stat(path, &st) == 0 && st.st_size > 0)
			d[i].ms = (mono() - d[i].start) * 1000;
		return;
	}
}

static void drain(int ifd, struct drop *d, int count, const char *dstdir)
{
	char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n; ) {
			struct inotify_event *ev = (struct inotify_event *)p;

			if (ev->len > 0)
				seen(d, count, dstdir, ev->name);
			p += sizeof(*ev) + ev->len;
		}
	}
}

int main(int argc, char **argv)
{
	double interval = 20, timeout = 10, next, deadline = 0;
	const char *srcdir, *dstdir, *outpath = NULL;
	int count, found = 0, dropped = 0, done, ifd, ch;
	struct drop *d;
	struct dirent *de;
	DIR *dir;
	double *lat;
	FILE *out;

	while ((ch = getopt(argc, argv, "i:t:o:")) != -1) {
		switch (ch) {
		case 'i': interval = atof(optarg); break;
		case 't': timeout = atof(optarg); break;
		case 'o': outpath = optarg; break;
		default: return 2;
		}
	}
	if (argc - optind != 3) {
		fprintf(stderr, "usage: latency [-i MS] [-t S] [-o FILE] SRCDIR DSTDIR COUNT\n");
		return 2;
	}
	srcdir = argv[optind];
	dstdir = argv[optind + 1];
	count = atoi(argv[optind + 2]);
	if (count < 1 || (d = calloc(count, sizeof(*d))) == NULL ||
	    (lat = calloc(count, sizeof(*lat))) == NULL)
		return 2;

	/* Every .pem of SRCDIR sorted, then keep the first count. */
	if ((dir = opendir(srcdir)) == NULL) {
		perror(srcdir);
		return 2;
	}
	{
		struct drop *all = NULL;
		int n = 0, cap = 0;

		while ((de = readdir(dir)) != NULL) {
			size_t len = strlen(de->d_name);

			if (len < 5 || strcmp(de->d_name + len - 4, ".pem") != 0 ||
			    len >= sizeof(all->name))
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				if ((all = realloc(all, cap * sizeof(*all))) == NULL)
					return 2;
			}
			memset(&all[n], 0, sizeof(all[n]));
			memcpy(all[n].name, de->d_name, len + 1);
			n++;
		}
		closedir(dir);
		if (n > 0)
			qsort(all, n, sizeof(*all), by_name);
		found = n < count ? n : count;
		if (found > 0)
			memcpy(d, all, found * sizeof(*d));
		free(all);
	}
	if (found < count) {
		fprintf(stderr, "latency: only %d .pem files in %s\n", found, srcdir);
		count = found;
	}
	for (int i = 0; i < count; i++)
		d[i].ms = -1;

	if ((ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1 ||
	    inotify_add_watch(ifd, dstdir, IN_MOVED_TO | IN_CLOSE_WRITE) == -1) {
		perror("inotify");
		return 2;
	}

	next = mono();
	for (;;) {
		double t = mono(), wait_s;
		struct pollfd pfd = { .fd = ifd, .events = POLLIN };

		if (dropped < count && t >= next) {
			d[dropped].start = mono();
			if (drop_file(srcdir, dstdir, d[dropped].name) == -1) {
				perror(d[dropped].name);
				return 2;
			}
			d[dropped].start = (d[dropped].start + mono()) / 2;
			dropped++;
			next += interval / 1000;
			if (dropped == count)
				deadline = mono() + timeout;
			continue;
		}
		done = 0;
		for (int i = 0; i < count; i++)
			done += d[i].ms >= 0;
		if (done == count || (dropped == count && t >= deadline))
			break;
		wait_s = (dropped < count ? next : deadline) - t;
		poll(&pfd, 1, wait_s > 0 ? (int)(wait_s * 1000) + 1 : 0);
		drain(ifd, d, count, dstdir);
	}

	done = 0;
	for (int i = 0; i < count; i++)
		if (d[i].ms >= 0)
			lat[done++] = d[i].ms;
	if (outpath != NULL && (out = fopen(outpath, "w")) != NULL) {
		for (int i = 0; i < count; i++)
			fprintf(out, "%s %.3f\n", d[i].name, d[i].ms);
		fclose(out);
	}
	qsort(lat, done, sizeof(*lat), by_double);
#define RANK(p) (done ? lat[(int)((p) * done + 0.999999) - 1 < 0 ? 0 : \
	    (int)((p) * done + 0.999999) - 1] : -1)
	printf("files=%d stapled=%d p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f max_ms=%.1f\n",
	    count, done, RANK(0.50), RANK(0.90), RANK(0.99), done ? lat[done - 1] : -1);
	return done == count ? 0 : 1;
}
