#!/bin/bash
# trust-haproxy-flap: admin socket peers that never let a connection prove
# itself (issue 11, point 3), both mapped in one daemon for 15 s:
#  - "close": closes every connection as soon as it is accepted;
#  - "stopping": answers like a HAProxy worker being replaced, "Stopping: 1"
#    to every "show info" (after a real reload the successor answers
#    "Stopping: 0" and the connection proves itself: haproxy-reload.sh).
# A connect does not reset the backoff: each peer sees a handful of
# connections (not hundreds), each with one push of the staple, and each is
# reported once.
. "$(dirname "$0")/../lib.sh"
setup
make_pki
start_responder "$PKI" "$RESP_PORT"

site=$T/site
mkdir -p "$site"
cp "$CERTS/good1.pem" "$site/"
for m in close stopping; do
	start_fakehap $m "$T/$m.sock" "$T/$m.accepts"
done
accepts() { wc -l <"$T/$1.accepts" 2>/dev/null || echo 0; }

log=$T/ocspd.log
start_ocspd "$log" -v --ca-file "$CA/root.pem" -s "$site=$T/close.sock" -s "$site=$T/stopping.sock" "$site"
wait_for eval '[ "$(staple_status "$site/good1.pem")" = good ]' || fail "good1: no staple on disk"
for i in $(seq 15); do
	sleep 1
	kill -0 "$OCSPD_PID" 2>/dev/null || fail "the daemon died"
	for m in close stopping; do
		[ "$(accepts $m)" -le 10 ] || fail "$m: $(accepts $m) connections after $i s"
	done
done
echo "connections in 15 s: close $(accepts close), stopping $(accepts stopping);" \
	"pushes to stopping: $(count_log "$log" "staple pushed to HAProxy $T/stopping.sock")"
for m in close stopping; do
	n=$(accepts $m)
	[ "$n" -ge 3 ] && [ "$n" -le 8 ] || fail "$m: $n connections in 15 s, expected a few (backoff)"
	n=$(count_log "$log" "ocspd (error|warning|info): $T/$m.sock: HAProxy (admin connection lost|process [0-9]+ is stopping)")
	[ "$n" = 1 ] || fail "$m: the loss logged $n times above debug, expected once"
done
n=$(count_log "$log" "staple pushed to HAProxy $T/stopping.sock")
[ "$n" -le "$(accepts stopping)" ] || fail "$n pushes to the stopping peer over $(accepts stopping) connections"
ok "close $(accepts close) and stopping $(accepts stopping) connections in 15 s; each loss logged once"

[ "$(staple_status "$site/good1.pem")" = good ] || fail "good1: staple lost"
stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "SIGTERM: exit $RC"
pass
