#!/bin/bash
# trust-haproxy-flood: admin socket peers that send too much (issue 11,
# point 3), both mapped in one daemon for 15 s:
#  - "stream": bytes without ever a prompt. The answer is cut off at 64 KiB
#    (HAPROXY_ANSWER_MAX) with one error line; ocspd's RSS stays bounded
#    (grows < 32 MB) and it does not spin (CPU time well below half the wall
#    time, from /proc/PID/stat);
#  - "flood": empty answers ("\n> ") as fast as the peer can write. More
#    answers than commands close the connection as out of step, logged once
#    with a count: the log stays small (< 100 KB);
#  - both are reconnected with a growing backoff (a handful of connections),
#    and the daemon keeps its staple and exits 0 on SIGTERM.
# The window is watched every second, so that a runaway fails fast instead
# of filling the disk.
. "$(dirname "$0")/../lib.sh"
setup
make_pki
start_responder "$PKI" "$RESP_PORT"

site=$T/site
mkdir -p "$site"
cp "$CERTS/good1.pem" "$site/"
for m in stream flood; do
	start_fakehap $m "$T/$m.sock" "$T/$m.accepts"
done
accepts() { wc -l <"$T/$1.accepts" 2>/dev/null || echo 0; }
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$OCSPD_PID/status"; }	# KiB
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$OCSPD_PID/status"; }	# KiB
cpu() { awk '{ print $14 + $15 }' "/proc/$OCSPD_PID/stat"; }		# clock ticks
hz=$(getconf CLK_TCK)

log=$T/ocspd.log
start_ocspd "$log" --ca-file "$CA/root.pem" -s "$site=$T/stream.sock" -s "$site=$T/flood.sock" "$site"
wait_for eval '[ "$(staple_status "$site/good1.pem")" = good ]' || fail "good1: no staple on disk"
rss0=$(rss)
cpu0=$(cpu)
t0=$(date +%s.%N)
for i in $(seq 15); do
	sleep 1
	kill -0 "$OCSPD_PID" 2>/dev/null || fail "the daemon died"
	size=$(stat -c %s "$log")
	[ "$size" -lt 102400 ] || fail "log grew to $size bytes after $i s"
	[ $(($(hwm) - rss0)) -lt 32768 ] || fail "RSS grew from $rss0 to $(hwm) KiB after $i s"
done
t1=$(date +%s.%N)
cpu1=$(cpu)
wall=$(echo "$t1 - $t0" | bc)
used=$(echo "scale=2; ($cpu1 - $cpu0) / $hz" | bc)
echo "over ${wall%.*} s: CPU $used s, RSS $rss0 -> peak $(hwm) KiB, log $(stat -c %s "$log") bytes," \
	"connections: stream $(accepts stream), flood $(accepts flood)"
[ "$(echo "$used < $wall / 2" | bc)" = 1 ] || fail "ocspd used $used s of CPU in $wall s"
ok "bounded: CPU ${used} s in ${wall%.*} s, RSS peak $(hwm) KiB (from $rss0), log $(stat -c %s "$log") bytes"

grep -q "$T/stream.sock: HAProxy admin socket sent 65536 bytes without a prompt" "$log" ||
	fail "no error line for the socket streaming without a prompt"
# Out of step whichever command the flood caught first: none written yet, a
# push (HAProxy always says something), or "show info" (always has a Pid).
grep -Eq "$T/flood.sock: HAProxy admin socket (sent [0-9]+ answers? to no command|answered \"[a-z ]+\" (with nothing|without a Pid))" "$log" ||
	fail "no error line for the socket flooding empty answers"
for m in stream flood; do
	n=$(count_log "$log" "ocspd (error|warning): $T/$m.sock")
	[ "$n" -le 2 ] || fail "$m: $n error/warning lines about the socket: $(grep "$m.sock" "$log" | tail -3)"
	n=$(accepts $m)
	[ "$n" -ge 2 ] && [ "$n" -le 8 ] || fail "$m: $n connections in 15 s, expected a few (backoff)"
done
ok "each reported once, reconnected with backoff ($(accepts stream) and $(accepts flood) connections)"

[ "$(staple_status "$site/good1.pem")" = good ] || fail "good1: staple lost"
stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "SIGTERM: exit $RC"
pass
