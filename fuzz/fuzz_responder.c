/*
 * fuzz_responder — the local OCSP responder's request parsers on arbitrary
 * bytes: as a POST body (responder_request_from_der) and as a GET path
 * (responder_request_from_path: prefixes, base64, a DER OCSPRequest).
 */
#include <stdlib.h>
#include <string.h>

#include "responder.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *url = malloc(size + 1);
	OCSP_REQUEST *req;

	if (url == NULL)
		return 0;
	OCSP_REQUEST_free(responder_request_from_der(data, size));
	memcpy(url, data, size);
	url[size] = '\0';
	if ((req = responder_request_from_path(url)) != NULL && OCSP_request_onereq_count(req) < 0)
		abort();
	OCSP_REQUEST_free(req);
	free(url);
	return 0;
}
