#!/bin/bash
# fault-nonce: with --nonce every request carries a fresh nonce and the
# response must echo it (DESIGN.md section 3.7). A real `openssl ocsp`
# responder echoes nonces; faultd answers with the right nonce, another one,
# or none.
. "$(dirname "$0")/../lib.sh"
setup

find_faultd
make_pki
start_responder "$PKI" "$RESP_PORT"
FPORT=$(free_port)
BASE=http://127.0.0.1:$FPORT
D=$T/faults
mkdir -p "$D"
for mode in nonce nonce-wrong good; do
	"$FAULTD" leaf "$CA/inter.pem" "$CA/inter.key" "$CA/leaf.key" "$D/$mode.pem" "$BASE/$mode" ||
		fail "faultd leaf $mode"
done
start_faultd "$FPORT"
OPTS="--ca-file $CA/root.pem --timeout 5"

# A real responder echoes the nonce: stapled.
run_ocspd "$T/real.log" --one-off --nonce $OPTS "$CERTS/good1.pem"
[ "$RC" = 0 ] || fail "openssl ocsp with --nonce: exit $RC, expected 0"
check_staple "$CERTS/good1.pem"
ok "openssl ocsp echoes the nonce: staple stored and verified"

run_ocspd "$T/echo.log" --one-off --nonce $OPTS "$D/nonce.pem"
[ "$RC" = 0 ] || fail "nonce echoed: exit $RC, expected 0"
check_staple "$D/nonce.pem"
ok "faultd echoes the nonce: staple stored"

# rejected MODE REASON: --nonce one-off on MODE's leaf exits 1, logs file, URL
# and REASON, and leaves no staple.
rejected() {
	run_ocspd "$T/$1.log" --one-off --nonce $OPTS "$D/$1.pem"
	[ "$RC" = 1 ] || fail "$1: exit $RC, expected 1"
	grep -q "$1.pem: $BASE/$1: $2" "$T/$1.log" || fail "$1: no log line naming file, URL and reason"
	no_staple "$D/$1.pem"
}
rejected nonce-wrong "response nonce does not match"
ok "a response with another nonce is rejected"
rejected good "response has no nonce"
ok "a response without the nonce is rejected"

# Without --nonce nothing is sent and nothing is required (RFC 5019 profile).
run_ocspd "$T/plain.log" --one-off $OPTS "$D/good.pem" "$D/nonce-wrong.pem"
[ "$RC" = 0 ] || fail "without --nonce: exit $RC, expected 0"
check_staple "$D/good.pem"
ok "without --nonce no nonce is required"
pass
