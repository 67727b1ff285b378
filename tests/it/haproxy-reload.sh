#!/bin/bash
# haproxy-reload: a master-worker HAProxy reloaded (SIGUSR2 to the master, as
# "systemctl reload haproxy" does) while ocspd holds its admin connection
# (issue 4).
#  - the admin socket is handed to the new worker, but ocspd's open connection
#    stays with the old one, which then reports "Stopping: 1": ocspd notices
#    (periodic "show info"), lets go, so the old worker can exit instead of
#    lingering for the CLI timeout, and pushes every staple to the new worker;
#  - the new worker loaded empty .ocsp files: it staples only what ocspd pushed.
. "$(dirname "$0")/../lib.sh"
setup
make_pki
start_responder "$PKI" "$RESP_PORT"

site=$T/site
mkdir -p "$site"
cp "$CERTS/good1.pem" "$CERTS/good2.pem" "$site/"
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
worker_pid() {	# the pid of the worker answering a new connection
	python3 - "$sock" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"show info\n")
d = b""
while True:
    c = s.recv(65536)
    if not c: break
    d += c
for l in d.decode().splitlines():
    if l.startswith("Pid: "): print(l[5:])
PY
}
served() {
	echo | openssl s_client -connect "127.0.0.1:$port" -servername "$1.test" -status 2>/dev/null |
		sed -n '/^OCSP response:/,/^---/p'
}
serial_of() { awk -v n="$1" '$1 == n { print $2 }' "$CA/serials"; }
served_good() {
	local out
	out=$(served "$1")
	printf '%s\n' "$out" | grep -q "OCSP Response Status: successful" &&
		printf '%s\n' "$out" | grep -q "Cert Status: good" &&
		printf '%s\n' "$out" | grep -qi "Serial Number: 0*$(serial_of "$1")\$"
}

haproxy -W -db -f "$T/haproxy.cfg" >>"$T/haproxy.log" 2>&1 &
master=$!
track $master
wait_for eval '[ -n "$(worker_pid)" ]' || fail "haproxy did not start"
old=$(worker_pid)

log=$T/ocspd.log
start_ocspd "$log" --ca-file "$CA/root.pem" -s "$site=$sock" "$site"
pid=$OCSPD_PID
for n in good1 good2; do
	wait_for served_good $n || fail "$n: not stapled before the reload"
done
ok "stapled in worker $old"

# Reload with the staples gone from disk: the new worker starts without them.
: >"$site/good1.pem.ocsp"
rm -f "$site/good2.pem.ocsp"
kill -USR2 $master
wait_for eval '[ -n "$(worker_pid)" ] && [ "$(worker_pid)" != "$old" ]' || fail "no new worker after SIGUSR2"
new=$(worker_pid)
WAIT=30 wait_for eval "! kill -0 $old 2>/dev/null" ||
	fail "old worker $old still alive 30 s after the reload: ocspd keeps it busy"
grep -q "process $old is stopping" "$log" || fail "ocspd did not log that worker $old was stopping"
for n in good1 good2; do
	wait_for served_good $n || fail "$n: not stapled by the new worker $new ($(served $n))"
done
kill -0 $pid 2>/dev/null || fail "ocspd died"
stop_pid $pid TERM
[ "$RC" = 0 ] || fail "ocspd exit status $RC"
ok "reload: old worker $old released and gone, new worker $new staples everything"
pass
