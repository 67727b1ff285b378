#!/bin/bash
# haproxy-socket: staples reach a running HAProxy 2.6 over its admin socket
# (issue 4), mapped with -s DIR=SOCKET.
#  - good1 loaded with an empty .ocsp, good2 and good3 with no .ocsp at all:
#    s_client -status shows a good staple for every one (the second pair
#    needs "set ssl cert <crt>.ocsp" + "commit ssl cert");
#  - a renewed staple (ocspd restarted with --no-recycle) is the one served;
#  - HAProxy restarted (new process, same socket) with its staples gone:
#    ocspd reconnects and pushes every staple again, from memory.
. "$(dirname "$0")/../lib.sh"
setup
make_pki
start_responder "$PKI" "$RESP_PORT"

site=$T/site
mkdir -p "$site"
cp "$CERTS/good1.pem" "$CERTS/good2.pem" "$CERTS/good3.pem" "$site/"
: >"$site/good1.pem.ocsp"
sock=$T/admin.sock
port=$(free_port)
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
EOF

start_haproxy() {	# LOG: haproxy in the foreground (-db), tracked; waits for its socket
	haproxy -db -f "$T/haproxy.cfg" >>"$1" 2>&1 &
	HAPROXY_PID=$!
	track $HAPROXY_PID
	wait_for eval "[ -S '$sock' ] && echo 'show info' | python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b\"show info\n\")
sys.exit(0 if b\"Pid: \" in s.recv(4096) else 1)' '$sock' 2>/dev/null" ||
		fail "haproxy did not start (see $1)"
}

# served NAME: the OCSP part of what HAProxy staples for NAME.test
served() {
	echo | openssl s_client -connect "127.0.0.1:$port" -servername "$1.test" -status 2>/dev/null |
		sed -n '/^OCSP response:/,/^---/p'
}
serial_of() { awk -v n="$1" '$1 == n { print $2 }' "$CA/serials"; }
# served_good NAME: HAProxy staples a successful, good response for NAME's serial
served_good() {
	local out
	out=$(served "$1")
	printf '%s\n' "$out" | grep -q "OCSP Response Status: successful" &&
		printf '%s\n' "$out" | grep -q "Cert Status: good" &&
		printf '%s\n' "$out" | grep -qi "Serial Number: 0*$(serial_of "$1")\$"
}
this_update_served() { served "$1" | sed -n 's/^ *This Update: //p' | head -1; }
this_update_file() {
	openssl ocsp -respin "$site/$1.pem.ocsp" -resp_text -noverify 2>/dev/null |
		sed -n 's/^ *This Update: //p' | head -1
}

start_haproxy "$T/haproxy.log"
for n in good1 good2 good3; do
	served "$n" | grep -q "OCSP Response Status" && fail "$n: HAProxy staples something before ocspd ran"
done
ok "haproxy serves good1..3 without staples"

log=$T/ocspd.log
start_ocspd "$log" --ca-file "$CA/root.pem" -s "$site=$sock" "$site"
pid=$OCSPD_PID
for n in good1 good2 good3; do
	wait_for served_good $n || fail "$n: HAProxy does not staple a good response (served: $(served $n))"
	check_staple "$site/$n.pem"
done
grep -q "staple attached in HAProxy" "$log" || fail "no 'set ssl cert' fallback logged for the certificates loaded without .ocsp"
ok "every certificate stapled in HAProxy, with and without a .ocsp at load time"

# A renewed staple is the one served: restart ocspd without recycling.
sleep 1.1	# This Update has a one-second resolution
old=$(this_update_served good2)
stop_pid $pid TERM
[ "$RC" = 0 ] || fail "ocspd exit status $RC after SIGTERM"
start_ocspd "$T/ocspd2.log" --ca-file "$CA/root.pem" --no-recycle -s "$site=$sock" "$site"
pid=$OCSPD_PID
renewed() { [ "$(this_update_file good2)" != "$old" ] && [ "$(this_update_served good2)" = "$(this_update_file good2)" ]; }
wait_for renewed || fail "good2: served This Update '$(this_update_served good2)', file '$(this_update_file good2)', before '$old'"
ok "renewed staple served (This Update $old -> $(this_update_served good2))"

# HAProxy restarted with the staples gone from disk (as if it had started
# before they were written): ocspd must push them again from memory. good3's
# .ocsp is removed altogether, so it needs the set/commit path again.
stop_pid $HAPROXY_PID TERM
: >"$site/good1.pem.ocsp"
: >"$site/good2.pem.ocsp"
rm -f "$site/good3.pem.ocsp"
start_haproxy "$T/haproxy2.log"
for n in good1 good2 good3; do
	wait_for served_good $n || fail "$n: not stapled again after the HAProxy restart (served: $(served $n))"
done
kill -0 $pid 2>/dev/null || fail "ocspd died"
ok "HAProxy restarted: every staple pushed again"

stop_pid $pid TERM
[ "$RC" = 0 ] || fail "ocspd exit status $RC after SIGTERM"
pass
