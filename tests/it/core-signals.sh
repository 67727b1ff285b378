#!/bin/bash
# core-signals: SIGHUP reloads, SIGTERM stops cleanly (issue 3).
#  - SIGHUP re-reads the config file: a directory added to cert-paths is
#    watched and stapled; the daemon keeps running and keeps its staples;
#  - a broken config on SIGHUP is reported and the daemon keeps the old one;
#  - SIGTERM while fetching, or while requests hang, exits 0 with no
#    temporary file left.
. "$(dirname "$0")/../lib.sh"
setup
LEAVES=12 make_pki
start_responder "$PKI" "$RESP_PORT"

a=$T/a
b=$T/b
mkdir "$a" "$b"
cp "$CERTS/good1.pem" "$a/"
cp "$CERTS/good2.pem" "$b/"
conf=$T/ocspd.conf
printf 'cert-paths = %s\nca-file = %s\n' "$a" "$CA/root.pem" >"$conf"
log=$T/ocspd.log
start_ocspd "$log" -c "$conf"
pid=$OCSPD_PID
is_good() { [ "$(staple_status "$1")" = good ]; }
wait_for is_good "$a/good1.pem" || fail "a/good1.pem got no staple"
sleep 1
[ -e "$b/good2.pem.ocsp" ] && fail "b/ is stapled before it is configured"

# 1. SIGHUP with b added.
printf 'cert-paths = %s, %s\nca-file = %s\n' "$a" "$b" "$CA/root.pem" >"$conf"
kill -HUP $pid
wait_for is_good "$b/good2.pem" || fail "after SIGHUP, b/good2.pem got no staple"
kill -0 $pid 2>/dev/null || fail "ocspd died on SIGHUP"
check_staple "$a/good1.pem"
ok "SIGHUP reload watches the new directory"

# 2. SIGHUP again with nothing changed: still running, nothing lost.
kill -HUP $pid
sleep 1
kill -0 $pid 2>/dev/null || fail "ocspd died on a second SIGHUP"
cp "$CERTS/good3.pem" "$b/"
wait_for is_good "$b/good3.pem" || fail "after a second SIGHUP, new file b/good3.pem got no staple"
ok "second SIGHUP: still watching"

# 3. A broken config on SIGHUP: reported, the daemon keeps running on the old one.
lines=$(wc -l <"$log")
printf 'cert-paths = %s\nno-such-key = 1\n' "$a" >"$conf"
kill -HUP $pid
wait_for eval '[ "$(tail -n +$((lines + 1)) "$log" | grep -c "no-such-key")" -gt 0 ]' ||
	fail "broken config on SIGHUP not reported"
sleep 1
kill -0 $pid 2>/dev/null || fail "ocspd died on a broken config at SIGHUP"
cp "$CERTS/good1.pem" "$b/again.pem"
wait_for is_good "$b/again.pem" || fail "after a broken SIGHUP, b/ is no longer watched"
ok "broken config on SIGHUP reported, old config kept"

# 4. SIGTERM exits 0.
stop_pid $pid TERM
[ "$RC" = 0 ] || fail "SIGTERM: exit status $RC"
ok "SIGTERM exits 0"

# 5. SIGTERM in the middle of a burst of fetches: exit 0, no temp file, every
#    staple that exists is complete and verifies.
mkdir "$T/many"
for i in $(seq 1 12); do cp "$CERTS/leaf$i.pem" "$T/many/"; done
start_ocspd "$T/ocspd-burst.log" --ca-file "$CA/root.pem" "$T/many"
wait_for eval 'ls "$T/many" | grep -q "\.ocsp$"' || fail "no staple in the burst directory"
stop_pid $OCSPD_PID TERM
[ "$RC" = 0 ] || fail "SIGTERM during fetches: exit status $RC"
leftover=$(find "$T/many" -name '*ocspd-tmp*')
[ -z "$leftover" ] || fail "temporary files left: $leftover"
for s in "$T"/many/*.ocsp; do
	st=$(staple_status "${s%.ocsp}")
	case $st in good | empty) ;; *) fail "$(basename "$s") is $st after SIGTERM" ;; esac
done
ok "SIGTERM during fetches: exit 0, complete staples only"

# 6. SIGTERM while every request hangs (responder stopped): exit 0 promptly.
mkdir "$T/hung"
for i in $(seq 1 6); do cp "$CERTS/leaf$i.pem" "$T/hung/"; done
kill -STOP "$RESP_PID"
start_ocspd "$T/ocspd-hung.log" --ca-file "$CA/root.pem" "$T/hung"
wait_log "$T/ocspd-hung.log" "watching" || fail "ocspd did not start on hung/"
sleep 1
stop_pid $OCSPD_PID TERM
kill -CONT "$RESP_PID"
[ "$RC" = 0 ] || fail "SIGTERM with requests in flight: exit status $RC"
leftover=$(find "$T/hung" -name '*ocspd-tmp*')
[ -z "$leftover" ] || fail "temporary files left: $leftover"
ok "SIGTERM with requests in flight: exit 0"
pass
