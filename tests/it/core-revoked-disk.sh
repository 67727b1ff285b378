#!/bin/bash
# core-revoked-disk: a revoked response found on disk at start (HAProxy's own
# updater writes them; operators copy such files around) is a revocation,
# handled like one a live responder gives: one error-level line, one
# --alert-hook run with OCSPD_EVENT=revoked, "revoked" in /status and in the
# ocspd_certificates gauge of /metrics, the .ocsp emptied. The responder is
# down while ocspd runs, so only the file can tell.
. "$(dirname "$0")/../lib.sh"
setup

make_pki
site=$T/site
mkdir -p "$site"
cp "$CERTS/revoked.pem" "$CERTS/good1.pem" "$site/"
# A real, signed "revoked" answer from openssl ocsp, saved as the staple.
start_responder "$PKI" "$RESP_PORT"
openssl ocsp -no_nonce -CAfile "$CA/root.pem" -issuer "$CA/inter.pem" -cert "$site/revoked.pem" \
	-url "http://127.0.0.1:$RESP_PORT/" -respout "$site/revoked.pem.ocsp" >"$T/ask.txt" 2>&1 ||
	fail "openssl ocsp could not ask: $(cat "$T/ask.txt")"
[ "$(staple_status "$site/revoked.pem")" = revoked ] || fail "the saved response is not a verified revoked one"
openssl ocsp -no_nonce -CAfile "$CA/root.pem" -issuer "$CA/inter.pem" -cert "$site/good1.pem" \
	-url "http://127.0.0.1:$RESP_PORT/" -respout "$site/good1.pem.ocsp" >/dev/null 2>&1 || fail "good1: no response"
stop_responder

cat >"$T/alert.sh" <<'EOF'
#!/bin/sh
printf '%s|%s|%s\n' "$OCSPD_EVENT" "$OCSPD_CERT" "$OCSPD_DETAIL" >>"$(dirname "$0")/alerts.txt"
EOF
chmod +x "$T/alert.sh"
SPORT=$(free_port)
start_ocspd "$T/d.log" --ca-file "$CA/root.pem" --alert-hook "$T/alert.sh" \
	--status-listen "127.0.0.1:$SPORT" "$site"
wait_log "$T/d.log" "error: $site/revoked.pem: certificate revoked \(at .*, reason keyCompromise, says the staple on disk\); staple withdrawn" ||
	fail "no error line for the revoked staple on disk"
wait_for grep -q "^revoked|$site/revoked.pem|" "$T/alerts.txt" || fail "alert-hook not run with OCSPD_EVENT=revoked"
wait_for eval '[ ! -s "$site/revoked.pem.ocsp" ]' || fail "the revoked staple was not emptied"
[ -e "$site/revoked.pem.ocsp" ] || fail "the .ocsp was removed, not emptied"
wait_log "$T/d.log" "good1.pem: staple recycled" || fail "good1: the good staple beside it was not recycled"
ok "revoked staple on disk: error line, alert-hook 'revoked', file emptied"

curl -sf "http://127.0.0.1:$SPORT/status" >"$T/s.json" || fail "GET /status failed"
python3 - "$T/s.json" "$site" <<'EOF' || fail "/status does not say revoked"
import json, sys
doc = json.load(open(sys.argv[1]))
st = {c["path"]: c for c in doc["certificates"]}
r = st[sys.argv[2] + "/revoked.pem"]
assert r["state"] == "revoked" and not r["staple"], r
assert st[sys.argv[2] + "/good1.pem"]["state"] == "stapled", st
EOF
curl -sf "http://127.0.0.1:$SPORT/metrics" >"$T/m.txt" || fail "GET /metrics failed"
grep -qx 'ocspd_certificates{state="revoked"} 1' "$T/m.txt" || fail "/metrics: not counted as revoked: $(grep ocspd_certificates "$T/m.txt")"
grep -qx 'ocspd_certificates{state="stapled"} 1' "$T/m.txt" || fail "/metrics: good1 not counted as stapled"
"$OCSPD" status "127.0.0.1:$SPORT" >"$T/st.txt" 2>&1
rc=$?
[ $rc = 2 ] || fail "ocspd status: exit $rc for a revoked certificate, expected 2 (CRITICAL): $(cat "$T/st.txt")"
grep -q "1 revoked" "$T/st.txt" || fail "ocspd status: $(head -1 "$T/st.txt")"
ok "/status, /metrics and ocspd status say revoked"

sleep 1	# a second hook run, if any, would have been started by now
[ "$(grep -c "^revoked|" "$T/alerts.txt")" = 1 ] || fail "alert-hook run $(grep -c "^revoked|" "$T/alerts.txt") times"
[ "$(count_log "$T/d.log" "certificate revoked \\(at")" = 1 ] || fail "the revocation was logged more than once"
ok "one alert, one error line"
stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "SIGTERM: exit $RC"
pass
