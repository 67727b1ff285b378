#!/bin/bash
# trust-haproxy-names: a file name in a watched directory never becomes a
# HAProxy command (issue 11, point 1). A real HAProxy 2.6 loads a directory of
# bundles, none with a .ocsp, so every staple goes through the
# "set ssl cert <name>.ocsp <<" + "commit ssl cert <name>" fallback, which
# names the file on the admin CLI. A second frontend "plain" serves http.
#  - names HAProxy's CLI would split (';', blanks, '\', "<<") are escaped:
#    each of those certificates is served a good staple (s_client -status);
#  - a name with newlines (which no escape can carry) is refused for that
#    certificate alone, with an error line that says why;
#  - afterwards "plain" still serves and "show stat" shows it OPEN: the
#    "shutdown frontend plain" hidden in two of the names never ran, and
#    HAProxy never answered a stray piece of a name ("Unknown command").
. "$(dirname "$0")/../lib.sh"
setup
LEAVES=5 make_pki
start_responder "$PKI" "$RESP_PORT"

site=$T/site
mkdir -p "$site"
inject='x;shutdown frontend plain;y.pem'
nl=$'n\nshutdown frontend plain\n.pem'
cp "$CERTS/leaf1.pem" "$site/$inject"
cp "$CERTS/leaf2.pem" "$site/a  b c.pem"
cp "$CERTS/leaf3.pem" "$site/back\\slash\\;.pem"
cp "$CERTS/leaf4.pem" "$site/lt<<.pem"
cp "$CERTS/leaf5.pem" "$site/$nl"
sock=$T/admin.sock
port=$(free_port)
pport=$(free_port)
cat >"$T/haproxy.cfg" <<EOF
global
	stats socket $sock level admin
defaults
	mode http
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend tls
	bind 127.0.0.1:$port ssl crt $site
	http-request return status 200 content-type text/plain string ok
frontend plain
	bind 127.0.0.1:$pport
	http-request return status 200 content-type text/plain string plain-ok
EOF
start_haproxy "$T/haproxy.cfg"

# One command on the admin socket, its answer on stdout.
hap() {
	python3 - "$sock" "$1" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode() + b"\n")
d = b""
while True:
    c = s.recv(65536)
    if not c: break
    d += c
sys.stdout.write(d.decode(errors="replace"))
PY
}
plain_state() { hap "show stat" | awk -F, '$1 == "plain" && $2 == "FRONTEND" { print $18 }'; }
plain_serves() { [ "$(curl -s --max-time 5 "http://127.0.0.1:$pport/")" = plain-ok ]; }
[ "$(plain_state)" = OPEN ] || fail "plain is not OPEN before ocspd: '$(plain_state)'"
plain_serves || fail "plain does not serve before ocspd"
n=$(hap "show ssl cert" | grep -c "^$site/")
[ "$n" -ge 4 ] || fail "HAProxy loaded $n of the oddly named bundles: $(hap "show ssl cert")"
ok "HAProxy loaded the oddly named bundles without .ocsp; frontend plain OPEN"

log=$T/ocspd.log
start_ocspd "$log" --ca-file "$CA/root.pem" -s "$site=$sock" "$site"
for n in leaf1 leaf2 leaf3 leaf4; do
	wait_for served_good "$port" $n || fail "$n: no good staple served (served: $(served_staple "$port" $n | head -3))"
done
[ "$(count_log "$log" "staple attached in HAProxy")" -ge 4 ] || fail "not 4 staples attached through set ssl cert + commit"
ok "escaped names ('$inject', blanks, backslashes, '<<'): each staple attached and served"

# The watcher refuses it first (haproxy.c would too: its unit test covers that layer).
wait_log "$log" "shutdown frontend plain.x0a.pem: file name refused: it contains a control character" ||
	fail "the name with newlines was not refused with a reason"
served_staple "$port" leaf5 | grep -q "OCSP Response Status" && fail "leaf5 (newline name) is stapled: how?"
ok "the name with newlines refused for that certificate alone"

sleep 1		# a stray command would have been answered by now
[ "$(plain_state)" = OPEN ] || fail "frontend plain is '$(plain_state)' after ocspd pushed: a name ran as a command"
plain_serves || fail "frontend plain no longer serves: a name ran as a command"
grep -q "Unknown command" "$log" && fail "HAProxy got a piece of a name as a command: $(grep -m1 "Unknown command" "$log")"
grep -qi "plain.*stopped\|stopping frontend" "$T/haproxy.log" && fail "HAProxy stopped a proxy: $(grep -i stop "$T/haproxy.log")"
kill -0 "$HAPROXY_PID" || fail "HAProxy died"
ok "frontend plain still OPEN and serving; no stray command reached HAProxy"

stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "SIGTERM: exit $RC"
pass
