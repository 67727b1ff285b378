#!/bin/bash
# responder-openssl: the local OCSP responder (--serve-ocsp) asked by
# `openssl ocsp -url` (POST) and by curl (GET, under a path prefix, escaped
# and not): the verified staple with "Response verify OK" and good, with and
# without a nonce; the verified revoked answer for a revoked certificate;
# tryLater for a certificate without a staple yet; unauthorized for a CertID
# not ours (and a SHA-256 CertID); malformedRequest for garbage; HTTP 413 for
# an oversized body; RFC 5019 caching headers; counts in /metrics; and the
# CA's responder sees requests from ocspd only.
. "$(dirname "$0")/../lib.sh"
setup

make_pki
start_responder "$PKI" "$RESP_PORT"
# A certificate whose responder never answers: managed, but no staple.
"$ROOT/tests/pki.sh" "$T/pki2" "http://127.0.0.1:1/" >/dev/null || fail "second PKI"
mkdir -p "$T/certs"
cp "$CERTS/good1.pem" "$CERTS/revoked.pem" "$T/certs/"
cp "$T/pki2/certs/good1.pem" "$T/certs/nostaple.pem"
OPORT=$(free_port)
SPORT=$(free_port)
cat "$CA/root.pem" "$T/pki2/ca/root.pem" >"$T/roots.pem"
start_ocspd "$T/d.log" -v --ca-file "$T/roots.pem" --serve-ocsp "$OPORT" \
	--status-listen "$SPORT" "$T/certs"
wait_log "$T/d.log" "serve-ocsp: answering OCSP requests at http://127.0.0.1:$OPORT/" ||
	fail "responder not started"
wait_log "$T/d.log" "good1.pem: staple stored" || fail "good1 not stapled"
wait_log "$T/d.log" "revoked.pem: certificate revoked" || fail "revoked not seen revoked"
wait_log "$T/d.log" "nostaple.pem: .*127.0.0.1:1" || fail "nostaple not tried"
ca_requests=$(responder_requests)
URL="http://127.0.0.1:$OPORT"

# ask NAME [openssl ocsp args...]: POST through openssl ocsp, verified against the test CA.
ask() {
	local name=$1
	shift
	openssl ocsp -url "$URL/" -issuer "$CA/inter.pem" -cert "$CA/leaves/$name.crt" \
		-CAfile "$CA/root.pem" "$@" 2>&1
}

out=$(ask good1)
printf '%s\n' "$out" | grep -q "^Response verify OK" || fail "good1 (nonce): $out"
printf '%s\n' "$out" | grep -q ": good$" || fail "good1 (nonce) not good: $out"
printf '%s\n' "$out" | grep -q "WARNING: no nonce in response" || fail "good1: a nonce came back? $out"
ok "POST with a nonce: the cached staple, verify OK, good, no nonce"
out=$(ask good1 -no_nonce)
printf '%s\n' "$out" | grep -q "^Response verify OK" && printf '%s\n' "$out" | grep -q ": good$" ||
	fail "good1 (no nonce): $out"
# The bytes are those of the staple on disk.
ask good1 -no_nonce -respout "$T/r1.der" >/dev/null
cmp -s "$T/r1.der" "$T/certs/good1.pem.ocsp" || fail "answer is not the staple held"
ok "POST without a nonce: the very staple on disk"

out=$(ask revoked -no_nonce)
printf '%s\n' "$out" | grep -q "^Response verify OK" || fail "revoked: $out"
printf '%s\n' "$out" | grep -q ": revoked$" || fail "revoked not answered revoked: $out"
no_staple "$T/certs/revoked.pem"
ok "revoked certificate: the verified revoked answer (and still no staple on disk)"

out=$(openssl ocsp -url "$URL/" -issuer "$T/pki2/ca/inter.pem" -cert "$T/pki2/ca/leaves/good1.crt" -no_nonce 2>&1)
printf '%s\n' "$out" | grep -q "Responder Error: trylater (3)" || fail "no staple yet: $out"
ok "managed, no staple yet: tryLater"

out=$(ask good2 -no_nonce)
printf '%s\n' "$out" | grep -q "Responder Error: unauthorized (6)" || fail "good2 not ours: $out"
out=$(openssl ocsp -url "$URL/" -issuer "$CA/inter.pem" -sha256 -cert "$CA/leaves/good2.crt" -no_nonce 2>&1)
printf '%s\n' "$out" | grep -q "Responder Error: unauthorized (6)" || fail "good2, SHA-256: $out"
ok "CertID not ours (SHA-1 or SHA-256): unauthorized"

# GET, as nginx sends it: base64 with + / = escaped, under a path prefix.
openssl ocsp -issuer "$CA/inter.pem" -cert "$CA/leaves/good1.crt" -no_nonce -reqout "$T/req.der" >/dev/null 2>&1 ||
	fail "cannot write a request"
b64=$(base64 -w0 "$T/req.der")
esc=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$b64")
for path in "/$esc" "/ocsp/a/$esc" "/$b64" "/x/$b64"; do
	code=$(curl -s -o "$T/get.der" -D "$T/get.hdr" -w '%{http_code}' "$URL$path")
	[ "$code" = 200 ] || fail "GET $path: HTTP $code"
	cmp -s "$T/get.der" "$T/certs/good1.pem.ocsp" || fail "GET $path: not the staple held"
done
tr -d '\r' <"$T/get.hdr" >"$T/get.h"
grep -qi '^content-type: application/ocsp-response$' "$T/get.h" || fail "content-type: $(cat "$T/get.h")"
grep -Eqi '^cache-control: max-age=[0-9]+, public, no-transform, must-revalidate$' "$T/get.h" ||
	fail "cache-control: $(cat "$T/get.h")"
etag=$(sha1sum "$T/certs/good1.pem.ocsp" | cut -d' ' -f1)
grep -qi "^etag: \"$etag\"$" "$T/get.h" || fail "etag is not the SHA-1 of the DER: $(cat "$T/get.h")"
tu=$(date -u -d "$(this_update_file "$T/certs/good1.pem.ocsp")" '+%a, %d %b %Y %H:%M:%S GMT')
grep -qi "^last-modified: $tu$" "$T/get.h" || fail "last-modified is not thisUpdate ($tu): $(cat "$T/get.h")"
nu=$(openssl ocsp -respin "$T/certs/good1.pem.ocsp" -resp_text -noverify 2>/dev/null | sed -n 's/^ *Next Update: //p' | head -1)
nu=$(date -u -d "$nu" '+%a, %d %b %Y %H:%M:%S GMT')
grep -qi "^expires: $nu$" "$T/get.h" || fail "expires is not nextUpdate ($nu): $(cat "$T/get.h")"
ok "GET (escaped, raw, under a prefix): the staple, with RFC 5019 caching headers"

# Garbage, by POST and GET: malformedRequest, without caching headers.
head -c 300 /dev/urandom >"$T/junk"
curl -s -o "$T/bad.der" -D "$T/bad.hdr" --data-binary @"$T/junk" -H 'Content-Type: application/ocsp-request' "$URL/"
openssl ocsp -respin "$T/bad.der" -resp_text -noverify 2>&1 | grep -q "Responder Error: malformedrequest (1)" ||
	fail "garbage POST: $(openssl ocsp -respin "$T/bad.der" -resp_text -noverify 2>&1 | head -3)"
grep -qi '^cache-control: no-store' "$T/bad.hdr" && ! grep -Eqi '^(expires|etag|last-modified):' "$T/bad.hdr" ||
	fail "error answer has caching headers: $(cat "$T/bad.hdr")"
curl -s -o "$T/bad2.der" "$URL/notbase64!!"
openssl ocsp -respin "$T/bad2.der" -resp_text -noverify 2>&1 | grep -q "Responder Error: malformedrequest (1)" || fail "garbage GET"
ok "garbage (POST and GET): malformedRequest, no caching headers"

head -c 9000 /dev/zero >"$T/big"
code=$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$T/big" -H 'Content-Type: application/ocsp-request' "$URL/")
[ "$code" = 413 ] || fail "9000-byte body: HTTP $code, expected 413"
ok "oversized body: HTTP 413"

curl -sf "http://127.0.0.1:$SPORT/metrics" >"$T/m.txt" || fail "GET /metrics"
for want in 'good"} 7' 'revoked"} 1' 'trylater"} 1' 'unauthorized"} 2' 'malformed"} 3'; do
	grep -q "^ocspd_ocsp_answers_total{result=\"$want\$" "$T/m.txt" ||
		fail "metrics: no $want: $(grep ocspd_ocsp_answers "$T/m.txt")"
done
grep -q '^ocspd_ocsp_answer_duration_seconds_count 14$' "$T/m.txt" ||
	fail "latency count: $(grep ocspd_ocsp_answer_duration_seconds_count "$T/m.txt")"
ok "/metrics: answers by result and their latency"

[ "$(responder_requests)" = "$ca_requests" ] || fail "the CA's responder was asked by a client"
ok "the CA's responder saw only ocspd ($ca_requests requests)"

# A SHA-256 CertID of ours: tryLater while ocspd fetches it with that CertID, then the verified answer.
sha256() {
	openssl ocsp -url "$URL/" -issuer "$CA/inter.pem" -sha256 -cert "$CA/leaves/$1.crt" \
		-CAfile "$CA/root.pem" -no_nonce 2>&1
}
out=$(sha256 good1)
printf '%s\n' "$out" | grep -q "Responder Error: trylater (3)" || fail "SHA-256, first ask: $out"
wait_for eval 'sha256 good1 | grep -q ": good$"' || fail "SHA-256 CertID never answered: $(sha256 good1)"
out=$(sha256 good1)
printf '%s\n' "$out" | grep -q "^Response verify OK" || fail "SHA-256: $out"
[ "$(responder_requests)" = $((ca_requests + 1)) ] ||
	fail "SHA-256: the CA's responder got $(responder_requests) requests, expected $((ca_requests + 1))"
wait_for eval 'sha256 revoked | grep -q ": revoked$"' || fail "SHA-256, revoked: $(sha256 revoked)"
ok "SHA-256 CertID of ours: tryLater, then fetched once with that CertID and answered (good, revoked)"
stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "SIGTERM: exit $RC"
pass
