#!/bin/bash
# core-broken-rewrite: a bundle rewritten with junk (an operator mid-edit)
# gets an error, never costs its good staple, and is stapled again as soon
# as a good certificate is written back.
. "$(dirname "$0")/../lib.sh"
setup

make_pki
start_responder "$PKI" "$RESP_PORT"
D=$T/watched
cert_dir "$D" good1=site.pem
start_ocspd "$T/d.log" --ca-file "$CA/root.pem" "$D"
wait_log "$T/d.log" "site.pem: staple stored" || fail "no first staple"
check_staple "$D/site.pem"
cp "$D/site.pem.ocsp" "$T/saved.ocsp"

cp "$CERTS/notpem.pem" "$D/site.pem"
wait_log "$T/d.log" "site.pem: no certificate found" || fail "no error for the junk rewrite"
sleep 1
cmp -s "$D/site.pem.ocsp" "$T/saved.ocsp" || fail "the good staple changed after a junk rewrite"
ok "junk rewrite: error logged, staple byte-for-byte unchanged"

cp "$CERTS/good2.pem" "$D/site.pem"
stored_twice() { [ "$(count_log "$T/d.log" "site.pem: staple stored")" -ge 2 ]; }
wait_for stored_twice || fail "no staple after the good certificate came back"
check_staple "$D/site.pem"
cmp -s "$D/site.pem.ocsp" "$T/saved.ocsp" && fail "staple not renewed for the new certificate"
ok "good certificate written back: stapled again, for the new certificate"
kill -0 "$OCSPD_PID" || fail "the daemon died"
stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "SIGTERM: exit $RC"
pass
