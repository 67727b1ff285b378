#!/bin/bash
# responder-hostile: the local OCSP responder (--serve-ocsp) under a thousand
# idle connections from one address and a client dripping its request one
# byte a second (each byte is progress, so no idle timeout catches it; the
# idle ones may be swept in the same second, hence "N connection(s)"):
#  - connections over the per-address limit are closed at once, the rest
#    when they time out; the dripping client is closed without an answer
#    once its request is overdue (10 s), and the log says so;
#  - meanwhile other clients are answered and ocspd keeps renewing.
. "$(dirname "$0")/../lib.sh"
setup

make_pki
start_responder "$PKI" "$RESP_PORT" -nmin 10
OPORT=$(free_port)
start_ocspd "$T/d.log" -v --ca-file "$CA/root.pem" --minimum-validity 590 \
	--serve-ocsp "$OPORT" "$CERTS/good1.pem"
wait_log "$T/d.log" "good1.pem: staple stored" || fail "no staple"
stored=$(count_log "$T/d.log" "good1.pem: staple stored")
CLIENTS=$ROOT/tests/status-clients.py

python3 "$CLIENTS" idle "$OPORT" 1000 127.0.0.2 "$T/idle" 2>>"$T/clients.log" &
track $!
python3 "$CLIENTS" drip "$OPORT" 1 127.0.0.3 "$T/drip" 2>>"$T/clients.log" &
track $!
wait_for -t 60 test -s "$T/idle" || fail "idle clients did not start: $(tail -n 3 "$T/clients.log")"
open_idle() { sed -n 's/^open //p' "$T/idle"; }
wait_for -t 10 eval '[ "$(open_idle)" -le 128 ]' || fail "idle: $(open_idle) open, over the per-address limit"
ok "1000 idle connections from one address: all but $(open_idle) closed at once"

good() {
	openssl ocsp -url "http://127.0.0.1:$OPORT/" -issuer "$CA/inter.pem" -cert "$CA/leaves/good1.crt" \
		-CAfile "$CA/root.pem" -no_nonce 2>&1 | grep -q ": good$"
}
for i in 1 2 3; do
	good || fail "answer $i while idle and dripping clients are held"
	sleep 1
done
ok "another client is answered meanwhile"

wait_for -t 40 eval 'grep -q "^closed" "$T/drip"' || fail "dripping client still open: $(cat "$T/drip")"
grep -q "answer 0 bytes" "$T/drip" || fail "dripping client: $(cat "$T/drip")"
wait_log "$T/d.log" "serve-ocsp: [0-9]+ connection\(s\) closed: no whole request within 10s" ||
	fail "no log line for the overdue request"
ok "dripping client closed without an answer ($(cat "$T/drip"))"
wait_for -t 30 eval '[ "$(open_idle)" = 0 ]' || fail "idle: $(open_idle) still open"
ok "the idle connections within the limit timed out"

wait_for -t 30 eval '[ "$(count_log "$T/d.log" "good1.pem: staple stored")" -gt "$stored" ]' ||
	fail "no renewal while the clients were held"
good || fail "no answer after the hostile clients"
ok "ocspd renewed meanwhile and still answers"
stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "SIGTERM: exit $RC"
pass
