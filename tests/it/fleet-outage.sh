#!/bin/bash
# fleet-outage: Redis stopped, restarted and flushed under a fleet of three
# nodes (issue 13).
#  - Redis stopped: a certificate added meanwhile is stapled by every node on
#    its own; each node says so once (one warning), whatever its retries;
#  - Redis restarted on the same port: each node says once that it is back,
#    and a certificate added then is fetched once for the three;
#  - Redis flushed: at the next renewal the staple is fetched once again,
#    for the three nodes together.
. "$(dirname "$0")/../lib.sh"
setup
make_pki
start_responder "$PKI" "$RESP_PORT" -nmin 10
start_redis
fleet_copies 3 good1
args="--minimum-validity 580 --refresh-interval 300"
pids=""
for k in 1 2 3; do
	# shellcheck disable=SC2086
	start_fleet_node $k "$T/ocspd$k.log" $args "$T/node$k"
	pids="$pids $OCSPD_PID"
done
# Requests for one certificate: its GET line in the responder's log (no nonce: always the same).
line_of() { grep "Received request" "$RESP_LOG" | sed -n "${1}p"; }
requests_for() { grep -cF -- "$1" "$RESP_LOG"; }
wait_for fleet_good "1 2 3" good1 || fail "cold start: not every node has good1"
g1=$(line_of 1)
[ "$(responder_requests)" = 1 ] || fail "cold start: $(responder_requests) requests, expected 1"

stop_redis
for k in 1 2 3; do cp "$CERTS/good2.pem" "$T/node$k/"; done
wait_for fleet_good "1 2 3" good2 || fail "Redis down: not every node stapled good2 on its own"
g2=$(line_of 2)
[ "$(requests_for "$g2")" = 3 ] || fail "Redis down: $(requests_for "$g2") requests for good2, expected 3 (each node alone)"
sleep 2	# a few reconnect attempts
for k in 1 2 3; do
	[ "$(count_log "$T/ocspd$k.log" "warning: redis .*connection lost")" = 1 ] ||
		fail "node $k: not exactly one warning for the lost Redis"
	[ "$(count_log "$T/ocspd$k.log" "warning: redis ")" = 1 ] || fail "node $k: more than one Redis warning"
done
ok "Redis stopped: every node staples alone, one warning each"

start_redis
for k in 1 2 3; do
	wait_for -t 45 grep -q "redis .*connected again" "$T/ocspd$k.log" || fail "node $k did not reconnect to Redis"
done
for k in 1 2 3; do
	[ "$(count_log "$T/ocspd$k.log" "redis .*connected again")" = 1 ] || fail "node $k: not one line for Redis back"
done
for k in 1 2 3; do cp "$CERTS/good3.pem" "$T/node$k/"; done
wait_for fleet_good "1 2 3" good3 || fail "Redis back: not every node stapled good3"
sleep 1
g3=$(grep "Received request" "$RESP_LOG" | grep -vF -e "$g1" -e "$g2" | head -1)
[ -n "$g3" ] && [ "$(requests_for "$g3")" = 1 ] || fail "Redis back: $(requests_for "${g3:-none}") requests for good3, expected 1"
ok "Redis restarted: every node rejoined (one line each), one request for a new certificate"

rcli flushall >/dev/null || fail "cannot flush Redis"
before=$(requests_for "$g1")
first=$(this_update_file "$T/node1/good1.pem.ocsp")
wait_for -t 60 fleet_renewed "1 2 3" good1 "$first" || fail "Redis flushed: good1 was not renewed on every node"
sleep 1
[ "$(requests_for "$g1")" = $((before + 1)) ] ||
	fail "Redis flushed: $(( $(requests_for "$g1") - before )) requests for good1's renewal, expected 1"
ok "Redis flushed: the renewal fetched good1 once for the three nodes"
for p in $pids; do
	stop_pid "$p"
	[ "$RC" = 0 ] || fail "SIGTERM: exit status $RC"
done
pass
