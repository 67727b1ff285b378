#!/bin/bash
# trust-haproxy-silent: an admin socket peer that accepts and never answers
# (tests/fakehap.py silent) costs error lines and nothing else (issue 11,
# point 3).
#  - daemon: the unanswered command times out (HAPROXY_ANSWER_TIMEOUT, 5 s);
#    one error line names the socket and the command; the push is counted as
#    failed in /metrics; the socket is reconnected with a growing backoff (a
#    few connections in 14 s, not one per timeout at a fixed pace);
#  - --one-off: ends by itself with exit 1 and a line naming the socket,
#    although the staple is on disk.
. "$(dirname "$0")/../lib.sh"
setup
make_pki
start_responder "$PKI" "$RESP_PORT"

site=$T/site
mkdir -p "$site"
cp "$CERTS/good1.pem" "$site/"
sock=$T/silent.sock
start_fakehap silent "$sock" "$T/accepts"
accepts() { wc -l <"$T/accepts" 2>/dev/null || echo 0; }

log=$T/ocspd.log
sport=$(free_port)
start_ocspd "$log" --ca-file "$CA/root.pem" --status-listen "127.0.0.1:$sport" -s "$site=$sock" "$site"
wait_for eval '[ "$(staple_status "$site/good1.pem")" = good ]' || fail "good1: no staple on disk"
WAIT=15 wait_log "$log" "$sock: HAProxy admin socket did not answer \"[a-z ]+\" within 5 s" ||
	fail "no error line for the socket that never answers"
ok "the silent socket reported: $(grep -m1 -o "$sock: HAProxy admin socket did not answer.*" "$log")"
failed=$(curl -s "http://127.0.0.1:$sport/metrics" | sed -n 's/^ocspd_haproxy_pushes_total{result="failed"} //p')
[ "${failed:-0}" -ge 1 ] || fail "the unanswered push is not counted as failed (failed=$failed)"
ok "its push counted as failed ($failed)"

sleep 9		# two more timeouts at most: 5 s each, plus the backoff between
n=$(accepts)
[ "$n" -ge 2 ] || fail "not reconnected after the timeout ($n connection)"
[ "$n" -le 4 ] || fail "$n connections in about 14 s: the backoff does not grow"
lines=$(count_log "$log" "ocspd (error|warning): $sock")
[ "$lines" = 1 ] || fail "$lines error/warning lines about $sock, expected 1: $(grep "$sock" "$log" | tail -3)"
kill -0 "$OCSPD_PID" || fail "the daemon died"
stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "SIGTERM: exit $RC"
ok "reconnected with backoff ($n connections), reported once"

# --one-off: the staple is already on disk; only the socket fails.
: >"$T/accepts"
RUN_DEADLINE=60 run_ocspd "$T/oneoff.log" --ca-file "$CA/root.pem" --one-off -s "$site=$sock" "$site"
[ "$RC" = 1 ] || fail "--one-off with a silent socket: exit $RC, expected 1"
grep -q "$sock: HAProxy admin socket unusable (did not answer \"[a-z ]*\" within 5 s).*giving up" "$T/oneoff.log" ||
	fail "--one-off: no line naming the silent socket"
ok "--one-off: exit 1, $(grep -m1 -o "$sock: HAProxy admin socket unusable.*" "$T/oneoff.log")"
pass
