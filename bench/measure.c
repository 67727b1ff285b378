/*
 * measure — run a command and report what it cost, like a small time(1).
 *
 *   measure [-o FILE] COMMAND [ARG...]
 *
 * Prints one line on stderr (or into FILE):
 *   wall=SECONDS user=SECONDS sys=SECONDS maxrss_kb=KB exit=CODE
 * from clock_gettime(CLOCK_MONOTONIC) around fork/exec and the child's
 * rusage from wait4(2) (maxrss: the peak resident set of the command itself).
 * Exits with the command's exit code (128 + signal when killed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double tv(struct timeval t)
{
	return t.tv_sec + t.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	const char *outpath = NULL;
	struct timespec t0, t1;
	struct rusage ru;
	int status, code, ch;
	pid_t pid;
	FILE *out = stderr;

	while ((ch = getopt(argc, argv, "+o:")) != -1) {
		if (ch == 'o')
			outpath = optarg;
		else
			return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: measure [-o FILE] COMMAND [ARG...]\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((pid = fork()) == -1) {
		perror("measure: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[optind], argv + optind);
		perror(argv[optind]);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) == -1) {
		perror("measure: wait4");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (outpath != NULL && (out = fopen(outpath, "w")) == NULL) {
		perror(outpath);
		out = stderr;
	}
	fprintf(out, "wall=%.3f user=%.3f sys=%.3f maxrss_kb=%ld exit=%d\n",
	    (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	    tv(ru.ru_utime), tv(ru.ru_stime), ru.ru_maxrss, code);
	if (out != stderr)
		fclose(out);
	return code;
}
