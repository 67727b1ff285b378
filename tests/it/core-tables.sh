#!/bin/bash
# core-tables: the responder URLs and issuers a daemon holds are shared by
# its certificates and dropped with the last certificate using them, so a
# daemon that sees certificates come and go for months does not grow. The
# SIGUSR1 report says how many it holds (debug level): 2 URLs and 1 issuer
# for two certificates of one CA (one with a second URL), the same after
# four certificates came and went, none once every certificate is gone.
. "$(dirname "$0")/../lib.sh"
setup

make_pki
start_responder "$PKI" "$RESP_PORT"
D=$T/watched
# b: the dead URL first, then the responder's.
cert_dir "$D" good1=a.pem deadfirst=b.pem
start_ocspd "$T/d.log" -v --ca-file "$CA/root.pem" "$D"
wait_log "$T/d.log" "a.pem: staple stored" || fail "a: no staple stored"
wait_log "$T/d.log" "b.pem: staple stored" || fail "b: no staple stored"
tables() {	# EXPECTED: SIGUSR1, then wait for that count line
	kill -USR1 "$OCSPD_PID"
	wait_log "$T/d.log" "status: in memory: $1\$"
}
tables "2 distinct responder URLs, 1 distinct issuer" || fail "two certificates: not 2 URLs and 1 issuer"
ok "two certificates of one CA: 2 URLs, 1 issuer"

# Certificates come and go: each new one is stapled, the one before it removed.
prev=""
for i in 1 2 3 4; do
	cp "$CERTS/good2.pem" "$D/c$i.pem"
	wait_log "$T/d.log" "c$i.pem: staple stored" || fail "c$i: no staple stored"
	if [ -n "$prev" ]; then
		rm -f "$D/$prev.pem" "$D/$prev.pem.ocsp"
		wait_log "$T/d.log" "$prev.pem: certificate gone; forgotten" || fail "$prev: not forgotten"
	fi
	prev=c$i
done
rm -f "$D/a.pem" "$D/a.pem.ocsp"
wait_log "$T/d.log" "a.pem: certificate gone; forgotten" || fail "a: not forgotten"
# b (two URLs) and c4 (one of them) are left.
[ "$(count_log "$T/d.log" "status: in memory: 2 distinct responder URLs, 1 distinct issuer\$")" = 1 ] ||
	fail "the first count line is not unique"
kill -USR1 "$OCSPD_PID"
wait_for eval '[ "$(count_log "$T/d.log" "status: in memory: 2 distinct responder URLs, 1 distinct issuer\$")" = 2 ]' ||
	fail "after four certificates came and went: not 2 URLs and 1 issuer still"
ok "after churn: still 2 URLs and 1 issuer"

rm -f "$D/b.pem" "$D/b.pem.ocsp"
wait_log "$T/d.log" "b.pem: certificate gone; forgotten" || fail "b: not forgotten"
tables "1 distinct responder URL, 1 distinct issuer" || fail "c4 alone: not 1 URL and 1 issuer"
rm -f "$D/c4.pem" "$D/c4.pem.ocsp"
wait_log "$T/d.log" "c4.pem: certificate gone; forgotten" || fail "c4: not forgotten"
tables "0 distinct responder URLs, 0 distinct issuers" || fail "no certificates left, yet URLs or issuers are held"
ok "every certificate gone: nothing held"
kill -0 "$OCSPD_PID" || fail "the daemon died"
stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "SIGTERM: exit $RC"
pass
