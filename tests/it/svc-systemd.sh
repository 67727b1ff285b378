#!/bin/bash
# svc-systemd: what systemd hears on NOTIFY_SOCKET (Type=notify), read here
# from a real datagram socket: READY=1 only once the first pass is over (every
# certificate stapled or failed), STATUS= with the counts, WATCHDOG=1 while
# WATCHDOG_USEC is set, RELOADING=1 then READY=1 around SIGHUP (also when the
# new config is bad; a WATCHDOG=1 keep-alive may come first), STOPPING=1 on
# SIGTERM.
. "$(dirname "$0")/../lib.sh"
setup

# Each datagram becomes one line of $T/notify.txt (newlines inside shown as "|").
python3 - "$T/notify.sock" "$T/notify.txt" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        out.write(s.recv(4096).decode().replace("\n", "|") + "\n")
EOF
track $!
wait_for test -S "$T/notify.sock" || fail "the notify reader did not start"

make_pki
start_responder "$PKI" "$RESP_PORT"
P1=$(free_port)
cat >"$T/ocspd.conf" <<EOF
cert-paths = $CERTS
ca-file = $CA/root.pem
status-listen = 127.0.0.1:$P1
EOF
NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=1000000 start_ocspd "$T/d.log" -c "$T/ocspd.conf"

wait_for grep -q "^READY=1" "$T/notify.txt" || fail "no READY=1"
# READY=1 comes after the pass: every good certificate's staple is on disk by then.
for c in good1 good2 good3 deadfirst issuerfile; do
	check_staple "$CERTS/$c.pem"
done
grep -q "first pass done" "$T/d.log" || fail "no 'first pass done' line"
[ "$(grep -c "^READY=1" "$T/notify.txt")" = 1 ] || fail "READY=1 sent more than once before any reload"
ok "READY=1 once every certificate is stapled or failed (5 staples verified on disk)"

# 10 certificates: 5 good, revoked, noaia, and 3 broken files (notpem, keyonly, empty).
wait_for grep -q "^STATUS=5 stapled, 3 failing, 1 revoked, 1 without OCSP URL, 0 pending" "$T/notify.txt" ||
	fail "no STATUS= line with the right counts"
ok "STATUS= says 5 stapled, 3 failing, 1 revoked, 1 without OCSP URL"

# RELOADING=1 must come before READY=1; a debounced STATUS= of the change
# before may still arrive in between (it is sent 1 s after that change).
first_of_reload() { grep -m1 -E "^(RELOADING|READY)=1" "$T/notify.txt"; }

watchdogs() { grep -c "^WATCHDOG=1" "$T/notify.txt"; }
more_watchdogs() { [ "$(watchdogs)" -ge "$1" ]; }
n=$(watchdogs)
wait_for more_watchdogs $((n + 2)) || fail "no WATCHDOG=1 keep-alives"
ok "WATCHDOG=1 every half WATCHDOG_USEC"

# A new certificate changes the counts (debounced STATUS= update).
cp "$CERTS/good1.pem" "$CERTS/good1copy.pem"
wait_for grep -q "^STATUS=6 stapled, 3 failing" "$T/notify.txt" || fail "STATUS= not updated for a new certificate"
ok "STATUS= follows a new certificate"

curl -sf "http://127.0.0.1:$P1/metrics" | grep -q '^ocspd_certificates{state="stapled"} 6$' ||
	fail "status-listen: no metrics on port $P1"
: >"$T/notify.txt"
P2=$(free_port)
sed -i "s/^status-listen = .*/status-listen = 127.0.0.1:$P2/" "$T/ocspd.conf"
kill -HUP "$OCSPD_PID"
wait_for grep -q "^READY=1" "$T/notify.txt" || fail "no READY=1 after SIGHUP"
first_of_reload | grep -q "^RELOADING=1" || fail "SIGHUP: RELOADING=1 was not first"
ok "SIGHUP: RELOADING=1, then READY=1"
curl -sf "http://127.0.0.1:$P2/metrics" | grep -q '^ocspd_certificates{state="stapled"} 6$' ||
	fail "SIGHUP: status-listen not moved to port $P2"
curl -s "http://127.0.0.1:$P1/metrics" >/dev/null && fail "SIGHUP: the old status port $P1 still answers"
ok "SIGHUP: status-listen moved from port $P1 to $P2"

: >"$T/notify.txt"
echo "no-such-key = 1" >>"$T/ocspd.conf"
kill -HUP "$OCSPD_PID"
wait_for grep -q "^READY=1|STATUS=configuration not reloaded" "$T/notify.txt" ||
	fail "bad config: no READY=1 with a STATUS saying it was not reloaded"
first_of_reload | grep -q "^RELOADING=1" || fail "bad config: RELOADING=1 was not first"
wait_log "$T/d.log" "configuration not reloaded .*ocspd.conf:4: unknown key .no-such-key." || fail "bad config: no error naming it"
kill -0 "$OCSPD_PID" || fail "the daemon died on a bad config"
ok "bad config on SIGHUP: RELOADING=1, READY=1, old config kept"

stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "SIGTERM: exit $RC"
grep -q "^STOPPING=1" "$T/notify.txt" || fail "no STOPPING=1"
ok "SIGTERM: STOPPING=1, exit 0"
pass
