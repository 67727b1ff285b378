#!/bin/bash
# core-trylater: a responder answering responseStatus tryLater is counted in
# /metrics under its own result, try_later, not as invalid (which means "an
# answer that failed verification"); the certificate is failing and retried.
. "$(dirname "$0")/../lib.sh"
setup

find_faultd
FPORT=$(free_port)
make_pki "http://127.0.0.1:$FPORT/"
start_faultd "$FPORT" -m trylater
SPORT=$(free_port)
start_ocspd "$T/d.log" --ca-file "$CA/root.pem" --status-listen "127.0.0.1:$SPORT" "$CERTS/good1.pem"
wait_log "$T/d.log" "good1.pem: no staple \(responder answered trylater\); retry in" || fail "no retry after tryLater"
curl -sf "http://127.0.0.1:$SPORT/metrics" >"$T/m.txt" || fail "GET /metrics failed"
url="http://127.0.0.1:$FPORT/"
grep -qx "ocspd_fetches_total{responder=\"$url\",result=\"try_later\"} 1" "$T/m.txt" ||
	fail "tryLater not counted as try_later: $(grep ocspd_fetches_total "$T/m.txt")"
grep -qx "ocspd_fetches_total{responder=\"$url\",result=\"invalid\"} 0" "$T/m.txt" ||
	fail "tryLater counted as invalid: $(grep ocspd_fetches_total "$T/m.txt")"
grep -qx 'ocspd_certificates{state="failing"} 1' "$T/m.txt" || fail "not failing: $(grep ocspd_certificates "$T/m.txt")"
ok "tryLater: result=\"try_later\" in /metrics, invalid untouched"
stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "SIGTERM: exit $RC"
pass
