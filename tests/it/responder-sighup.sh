#!/bin/bash
# responder-sighup: serve-ocsp set in the config file moves on SIGHUP (the
# old address stops answering, the new one answers from the same staples);
# a reload naming an address in use is refused as a whole and the responder
# stays where it was; a bad address at start is exit status 2 naming it.
. "$(dirname "$0")/../lib.sh"
setup

make_pki
start_responder "$PKI" "$RESP_PORT"
P1=$(free_port)
P2=$(free_port)
cfg=$T/ocspd.conf
printf 'ca-file = %s\nserve-ocsp = 127.0.0.1:%s\n' "$CA/root.pem" "$P1" >"$cfg"
start_ocspd "$T/d.log" -c "$cfg" "$CERTS/good1.pem"
wait_log "$T/d.log" "good1.pem: staple stored" || fail "no staple"

good_at() {
	openssl ocsp -url "http://127.0.0.1:$1/" -issuer "$CA/inter.pem" -cert "$CA/leaves/good1.crt" \
		-CAfile "$CA/root.pem" -no_nonce 2>&1 | grep -q ": good$"
}
good_at "$P1" || fail "no answer on $P1"
ok "serve-ocsp from the config file answers on $P1"

printf 'ca-file = %s\nserve-ocsp = 127.0.0.1:%s\n' "$CA/root.pem" "$P2" >"$cfg"
kill -HUP "$OCSPD_PID"
wait_log "$T/d.log" "serve-ocsp: answering OCSP requests at http://127.0.0.1:$P2/" || fail "not moved to $P2"
good_at "$P2" || fail "no answer on $P2"
! good_at "$P1" || fail "$P1 still answers"
ok "SIGHUP moved it to $P2; $P1 no longer answers"

# An address in use (the CA's responder): the reload is refused, nothing moves.
printf 'ca-file = %s\nserve-ocsp = 127.0.0.1:%s\n' "$CA/root.pem" "$RESP_PORT" >"$cfg"
kill -HUP "$OCSPD_PID"
wait_log "$T/d.log" "SIGHUP: configuration not reloaded \(serve-ocsp 127.0.0.1:$RESP_PORT: cannot listen" ||
	fail "reload onto a port in use not refused"
good_at "$P2" || fail "$P2 stopped answering after a refused reload"
ok "a reload onto a port in use is refused; $P2 still answers"
stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "SIGTERM: exit $RC"

run_ocspd "$T/bad.log" --ca-file "$CA/root.pem" --serve-ocsp "127.0.0.1:99999" "$CERTS/good1.pem"
[ "$RC" = 2 ] || fail "bad address: exit $RC"
grep -q "serve-ocsp 127.0.0.1:99999: " "$T/bad.log" || fail "bad address not named: $(cat "$T/bad.log")"
ok "a bad address at start: exit 2, named ($(grep -o 'serve-ocsp 127.0.0.1:99999: .*' "$T/bad.log" | head -1))"
pass
