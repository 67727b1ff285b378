#!/bin/bash
# fault-haproxy: nothing unverified reaches HAProxy. A real HAProxy serves one
# leaf per responder fault (each with an empty .ocsp at load, so HAProxy would
# accept any staple pushed to it) plus one good leaf as the control; ocspd
# pushes over the admin socket. The good leaf is served a good staple; every
# faulty one is served none, and its .ocsp stays empty.
. "$(dirname "$0")/../lib.sh"
setup

find_faultd
make_pki http://127.0.0.1:1/
FPORT=$(free_port)
BASE=http://127.0.0.1:$FPORT
D=$T/certs
mkdir -p "$D"
BAD="badsig unrelated noeku expired wrongserial wrongissuer revoked unknown stale future garbage html truncated empty trylater http500"
for m in good $BAD; do
	"$FAULTD" leaf "$CA/inter.pem" "$CA/inter.key" "$CA/leaf.key" "$D/$m.pem" "$BASE/$m" ||
		fail "faultd leaf $m"
	: >"$D/$m.pem.ocsp"
done
start_faultd "$FPORT"
HPORT=$(free_port)
SOCK=$T/admin.sock
write_haproxy_cfg "$T/haproxy.cfg" "$SOCK" "$HPORT" "$D"
start_haproxy "$T/haproxy.cfg"

start_ocspd "$T/d.log" --ca-file "$CA/root.pem" --timeout 3 --connect-timeout 2 -s "$D=$SOCK" "$D"
good_served() { served_staple "$HPORT" good | grep -q "Cert Status: good"; }
wait_for good_served || fail "the control leaf is not served a good staple"
ok "control: HAProxy serves the good staple"
for m in $BAD; do
	wait_log "$T/d.log" "$m.pem: (no staple|certificate revoked)" || fail "$m: no failure logged"
done
for m in $BAD; do
	out=$(served_staple "$HPORT" "$m")
	printf '%s\n' "$out" | grep -q "OCSP response: no response sent" ||
		fail "$m: HAProxy serves a staple: $(printf '%s\n' "$out" | head -3)"
	[ ! -s "$D/$m.pem.ocsp" ] || fail "$m: .ocsp is not empty"
done
ok "no faulty response reached HAProxy or the disk ($(echo $BAD | wc -w) faults)"
kill -0 "$OCSPD_PID" || fail "the daemon died"
stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "SIGTERM: exit $RC"
pass
