#!/bin/bash
# withdraw-haproxy: a withdrawn staple leaves a running HAProxy too (issue 15).
# Real HAProxy 2.6, two real `openssl ocsp` responders (two test PKIs), three
# certificates stapled by the daemon, renewed every ~10 s:
#  - A's good1 is revoked (responder restarted with it revoked in its index):
#    after ocspd's next attempt HAProxy sends no staple for it;
#  - B's leaf1 (responses valid 1 minute) expires with B's responder down:
#    once its nextUpdate has passed HAProxy holds no response for it any more
#    ("show ssl ocsp-response" no longer lists its CertID). HAProxy 2.6 itself
#    never sends a response within 300 s of its nextUpdate
#    (OCSP_MAX_RESPONSE_TIME_SKEW), so clients see no staple for leaf1 either
#    way; what ocspd changes is that HAProxy drops it;
#  - A's good2 (responses valid 10 minutes) keeps a good staple all along;
#  - "staple withdrawn from HAProxy" is logged; neither ocspd's log (at debug
#    level) nor HAProxy's holds a line of the private key;
#  - a HAProxy restarted afterwards serves no staple for either, good2's still.
. "$(dirname "$0")/../lib.sh"
setup

PORT_A=$(free_port)
PORT_B=$(free_port)
PKI_A=$T/pkiA
PKI_B=$T/pkiB
"$ROOT/tests/pki.sh" "$PKI_A" "http://127.0.0.1:$PORT_A/" >/dev/null 2>&1 || fail "pki A"
LEAVES=1 "$ROOT/tests/pki.sh" "$PKI_B" "http://127.0.0.1:$PORT_B/" >/dev/null 2>&1 || fail "pki B"
cat "$PKI_A/ca/root.pem" "$PKI_B/ca/root.pem" >"$T/roots.pem"

site=$T/site
mkdir -p "$site"
cp "$PKI_A/certs/good1.pem" "$PKI_A/certs/good2.pem" "$PKI_B/certs/leaf1.pem" "$site/"

start_responder "$PKI_A" "$PORT_A" -nmin 10
pid_a=$RESP_PID
start_responder "$PKI_B" "$PORT_B" -nmin 1
pid_b=$RESP_PID

port=$(free_port)
write_haproxy_cfg "$T/haproxy.cfg" "$T/admin.sock" "$port" "$site"
start_haproxy "$T/haproxy.cfg"
hpid=$HAPROXY_PID

# status NAME -> good | none | other (what a TLS client is sent for NAME.test)
status() {
	local out
	out=$(echo | openssl s_client -connect "127.0.0.1:$port" -servername "$1.test" -status 2>/dev/null)
	if printf '%s\n' "$out" | grep -q "OCSP response: no response sent"; then
		echo none
	elif printf '%s\n' "$out" | grep -q "Cert Status: good"; then
		echo good
	else
		echo other
	fi
}
is() { [ "$(status "$1")" = "$2" ]; }

# held SERIAL: HAProxy holds a response for that serial (show ssl ocsp-response).
held() {
	python3 - "$T/admin.sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"show ssl ocsp-response\n")
d = b""
while True:
    c = s.recv(65536)
    if not c: break
    d += c
sys.exit(0 if ("Serial Number: " + sys.argv[2]).encode() in d else 1)
PY
}
leaf1_serial=$(awk '$1 == "leaf1" { print $2 }' "$PKI_B/ca/serials")

# Renewal due after the 10 s floor (minimum-validity 590).
start_ocspd "$T/ocspd.log" -v -v --ca-file "$T/roots.pem" --minimum-validity 590 \
	-s "$site=$T/admin.sock" "$site"
for n in good1 good2; do
	wait_for is $n good || fail "$n: not stapled by HAProxy ($(status $n))"
done
wait_for held "$leaf1_serial" || fail "leaf1: HAProxy holds no response for it"
ok "HAProxy staples good1 and good2 and holds leaf1's response"

# B goes down: leaf1's staple expires within a minute.
stop_responder "$pid_b"
# A says good1 is revoked from now on.
stop_responder "$pid_a"
revoke_in_index "$PKI_A/ca" good1
start_responder "$PKI_A" "$PORT_A" -nmin 10

wait_log "$T/ocspd.log" "good1.pem: certificate revoked" || fail "ocspd did not see the revocation"
wait_for is good1 none || fail "good1 (revoked): HAProxy still sends a staple ($(status good1))"
grep -Eq "good1.pem: staple withdrawn from HAProxy .*admin.sock" "$T/ocspd.log" ||
	fail "no 'staple withdrawn from HAProxy' line for good1"
is good2 good || fail "good2: lost its staple when good1 was withdrawn ($(status good2))"
ok "revoked: HAProxy sends no staple for good1, still a good one for good2"

WAIT=90 wait_log "$T/ocspd.log" "leaf1.pem: staple expired" || fail "leaf1's staple did not expire"
wait_for eval '! held "$leaf1_serial"' || fail "leaf1 (expired): HAProxy still holds its response"
grep -Eq "leaf1.pem: staple withdrawn from HAProxy .*admin.sock" "$T/ocspd.log" ||
	fail "no 'staple withdrawn from HAProxy' line for leaf1"
is leaf1 none || fail "leaf1 (expired): HAProxy sends a staple ($(status leaf1))"
is good2 good || fail "good2: lost its staple when leaf1 was withdrawn ($(status good2))"
ok "expired with its responder down: HAProxy drops leaf1's response, good2 keeps its own"

# No line of either private key in any log (the bundles' keys went over the socket).
for key in "$PKI_A/ca/leaf.key" "$PKI_B/ca/leaf.key"; do
	grep -v -- '-----' "$key" >"$T/keylines"
	for log in "$T/ocspd.log" "$T/haproxy.log"; do
		if grep -qF -f "$T/keylines" "$log"; then
			fail "$(basename "$log") holds a line of the private key $key"
		fi
	done
done
ok "no key material in ocspd's debug log or HAProxy's log"

stop_pid "$hpid" TERM
start_haproxy "$T/haproxy.cfg"
hpid=$HAPROXY_PID
wait_for is good2 good || fail "restarted HAProxy: good2 not stapled ($(status good2))"
is good1 none || fail "restarted HAProxy: good1 (revoked) stapled ($(status good1))"
# (it lists a CertID for the empty leaf1.pem.ocsp it loaded, with no response: not checked here)
is leaf1 none || fail "restarted HAProxy: leaf1 (expired) stapled ($(status leaf1))"
[ -e "$site/leaf1.pem.ocsp" ] && [ ! -s "$site/leaf1.pem.ocsp" ] || fail "leaf1.pem.ocsp is not empty"
ok "HAProxy restarted: still no staple for good1 and leaf1, good2 stapled"

stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "ocspd exit status $RC after SIGTERM"
pass
