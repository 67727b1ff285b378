#!/bin/bash
# core-status: SIGUSR1 makes the daemon log where every certificate stands:
# one summary line with the counts by state (the same states as /status and
# systemd STATUS=), then a line for each certificate that is not stapled,
# starting with its state (revoked, no responder URL, junk), none for the
# good ones.
. "$(dirname "$0")/../lib.sh"
setup

make_pki
start_responder "$PKI" "$RESP_PORT"
# good1 good2 good3 deadfirst issuerfile: stapled; revoked; noaia notpem keyonly empty: none.
start_ocspd "$T/d.log" --ca-file "$CA/root.pem" "$CERTS"
for c in good1 good2 good3 deadfirst issuerfile; do
	wait_log "$T/d.log" "$c.pem: staple stored" || fail "$c: no staple stored"
done
wait_log "$T/d.log" "revoked.pem: .*retry in" || fail "revoked: no retry scheduled"

kill -USR1 "$OCSPD_PID"
wait_log "$T/d.log" "status: 10 certificates: 5 stapled, 3 failing, 1 revoked, 1 without OCSP URL, 0 pending; 0 in progress" ||
	fail "no status summary with the right counts"
wait_log "$T/d.log" "status: $CERTS/revoked.pem: revoked, checked again at " || fail "revoked line"
wait_log "$T/d.log" "status: $CERTS/noaia.pem: no_ocsp_url, no staple \(.*no OCSP responder URL.*\), waiting for the file to change" ||
	fail "noaia line"
for c in notpem keyonly empty; do
	wait_log "$T/d.log" "status: $CERTS/$c.pem: failing, no staple \(" || fail "$c line"
done
[ "$(count_log "$T/d.log" "status: $CERTS/good")" = 0 ] || fail "good certificates listed at info level"
ok "SIGUSR1: summary and one line per certificate without a staple"
kill -0 "$OCSPD_PID" || fail "the daemon died"
stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "SIGTERM: exit $RC"
pass
