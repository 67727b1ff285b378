/* Unit tests for metrics: the Prometheus text that /metrics serves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

/* The whole text as metrics_write produces it (caller frees). */
static char *text(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(metrics_write(f), 0);
	assert_int_equal(fclose(f), 0);
	assert_non_null(buf);
	assert_int_equal(strlen(buf), len);
	return buf;
}

static void assert_line(const char *all, const char *line)
{
	char *want = malloc(strlen(line) + 3);
	const char *p;

	assert_non_null(want);
	strcpy(want, "\n");
	strcat(want, line);
	strcat(want, "\n");
	p = strstr(all, want);
	if (p == NULL)
		fail_msg("no line \"%s\" in:\n%s", line, all);
	free(want);
}

/* Responder URLs are label values: ", \ and newline are escaped, per result a sample. */
static void test_fetch_labels(void **state)
{
	char *t;

	(void)state;
	metrics_fetch("http://ocsp.example/", METRICS_FETCH_GOOD);
	metrics_fetch("http://ocsp.example/", METRICS_FETCH_GOOD);
	metrics_fetch("http://ocsp.example/", METRICS_FETCH_ERROR);
	metrics_fetch("http://x/\"a\\b\nc", METRICS_FETCH_INVALID);
	metrics_fetch("http://y/\xff\r\xc3\xa9", METRICS_FETCH_INVALID);
	t = text();
	assert_line(t, "ocspd_fetches_total{responder=\"http://ocsp.example/\",result=\"good\"} 2");
	assert_line(t, "ocspd_fetches_total{responder=\"http://ocsp.example/\",result=\"error\"} 1");
	assert_line(t, "ocspd_fetches_total{responder=\"http://ocsp.example/\",result=\"revoked\"} 0");
	assert_line(t, "ocspd_fetches_total{responder=\"http://x/\\\"a\\\\b\\nc\",result=\"invalid\"} 1");
	/* Not UTF-8 and a CR: \\xNN text; valid UTF-8 (é) as it is. */
	assert_line(t, "ocspd_fetches_total{responder=\"http://y/\\\\xff\\\\x0d\xc3\xa9\",result=\"invalid\"} 1");
	assert_line(t, "# TYPE ocspd_fetches_total counter");
	free(t);
	metrics_free();
	t = text();
	assert_null(strstr(t, "ocsp.example"));	/* forgotten */
	free(t);
}

/* Buckets are cumulative, +Inf equals the count, the sum adds up. */
static void test_latency_histogram(void **state)
{
	char *t;

	(void)state;
	metrics_fetch_latency(0.003);	/* le 0.005 */
	metrics_fetch_latency(0.2);	/* le 0.25 */
	metrics_fetch_latency(0.25);	/* le 0.25: bounds are inclusive */
	metrics_fetch_latency(30);	/* only +Inf */
	t = text();
	assert_line(t, "ocspd_fetch_duration_seconds_bucket{le=\"0.005\"} 1");
	assert_line(t, "ocspd_fetch_duration_seconds_bucket{le=\"0.1\"} 1");
	assert_line(t, "ocspd_fetch_duration_seconds_bucket{le=\"0.25\"} 3");
	assert_line(t, "ocspd_fetch_duration_seconds_bucket{le=\"10\"} 3");
	assert_line(t, "ocspd_fetch_duration_seconds_bucket{le=\"+Inf\"} 4");
	assert_line(t, "ocspd_fetch_duration_seconds_count 4");
	assert_line(t, "ocspd_fetch_duration_seconds_sum 30.453000");
	assert_line(t, "# TYPE ocspd_fetch_duration_seconds histogram");
	free(t);
}

/* The local responder's answers by result, and their own histogram with finer buckets. */
static void test_answers(void **state)
{
	char *t;

	(void)state;
	metrics_answer(METRICS_ANSWER_GOOD, 0.00005);	/* le 0.0001 */
	metrics_answer(METRICS_ANSWER_GOOD, 0.0003);	/* le 0.0005 */
	metrics_answer(METRICS_ANSWER_MALFORMED, 2);	/* only +Inf */
	t = text();
	assert_line(t, "ocspd_ocsp_answers_total{result=\"good\"} 2");
	assert_line(t, "ocspd_ocsp_answers_total{result=\"malformed\"} 1");
	assert_line(t, "ocspd_ocsp_answers_total{result=\"trylater\"} 0");
	assert_line(t, "ocspd_ocsp_answer_duration_seconds_bucket{le=\"0.0001\"} 1");
	assert_line(t, "ocspd_ocsp_answer_duration_seconds_bucket{le=\"0.00025\"} 1");
	assert_line(t, "ocspd_ocsp_answer_duration_seconds_bucket{le=\"0.0005\"} 2");
	assert_line(t, "ocspd_ocsp_answer_duration_seconds_bucket{le=\"+Inf\"} 3");
	assert_line(t, "ocspd_ocsp_answer_duration_seconds_count 3");
	assert_line(t, "# TYPE ocspd_ocsp_answer_duration_seconds histogram");
	free(t);
}

static void test_pushes_and_pass(void **state)
{
	char *t;

	(void)state;
	metrics_push(METRICS_PUSH_UPDATED);
	metrics_push(METRICS_PUSH_FAILED);
	metrics_pass_ok(1700000000.5);
	t = text();
	assert_line(t, "ocspd_haproxy_pushes_total{result=\"updated\"} 1");
	assert_line(t, "ocspd_haproxy_pushes_total{result=\"committed\"} 0");
	assert_line(t, "ocspd_haproxy_pushes_total{result=\"failed\"} 1");
	assert_line(t, "ocspd_last_successful_pass_timestamp_seconds 1700000000.500");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fetch_labels),
		cmocka_unit_test(test_latency_histogram),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_pushes_and_pass),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
