#!/bin/bash
# fleet-cold: fleet mode on one Redis (issue 13), cold start and a renewal.
#  - three nodes over three directories holding the same three certificates
#    (copies), started together against one redis-server with a password:
#    the responder gets one request per certificate in all;
#  - every node's staples verify (openssl ocsp -respin); node 1's HAProxy
#    serves them (s_client -status);
#  - a fourth node started later staples everything from Redis, with no
#    request to the responder;
#  - at the renewal (10-minute responses, HAProxy staples them until 5 min
#    before nextUpdate; minimum-validity 580 s: due ~20 s after they were made) the four nodes again make one request per
#    certificate in all, and every node holds the renewed staple.
. "$(dirname "$0")/../lib.sh"
setup
make_pki
start_responder "$PKI" "$RESP_PORT" -nmin 10
start_redis
names="good1 good2 good3"
fleet_copies 4 $names

sock=$T/admin.sock
port=$(free_port)
write_haproxy_cfg "$T/haproxy.cfg" "$sock" "$port" "$T/node1"
start_haproxy "$T/haproxy.cfg"

args="--minimum-validity 580 --refresh-interval 300"
# shellcheck disable=SC2086
start_fleet_node 1 "$T/ocspd1.log" $args -s "$T/node1=$sock" "$T/node1"
for k in 2 3; do
	# shellcheck disable=SC2086
	start_fleet_node $k "$T/ocspd$k.log" $args "$T/node$k"
done
all_good() {
	local k n
	for k in "$@"; do
		for n in $names; do
			[ "$(staple_status "$T/node$k/$n.pem")" = good ] || return 1
		done
	done
}
wait_for all_good 1 2 3 || fail "not every node got a good staple for every certificate"
sleep 1	# a late duplicate request would show here
[ "$(responder_requests)" = 3 ] || fail "cold start of 3 nodes: $(responder_requests) responder requests, expected 3 (one per certificate)"
ok "cold start: 3 nodes x 3 certificates, 3 responder requests; every staple verifies"

for n in $names; do
	wait_for served_good "$port" $n || fail "$n: node 1's HAProxy does not staple a good response"
done
ok "node 1's HAProxy serves the staples"
grep -q "sharing staples with the fleet" "$T/ocspd1.log" || fail "node 1 never said it is connected to Redis"
grep -q "$REDIS_PASS" "$T"/ocspd*.log && fail "the Redis password is in a log"

# shellcheck disable=SC2086
start_fleet_node 4 "$T/ocspd4.log" $args "$T/node4"
wait_for all_good 4 || fail "node 4 got no staple from the fleet"
[ "$(responder_requests)" = 3 ] || fail "node 4 started later: $(responder_requests) responder requests, expected still 3"
ok "a fourth node staples everything from Redis, no request"

# The renewal: every node holds a staple younger than the first round's.
declare -A first
for n in $names; do first[$n]=$(this_update_file "$T/node1/$n.pem.ocsp"); done
renewed() {
	local k n
	for k in 1 2 3 4; do
		for n in $names; do
			[ "$(this_update_file "$T/node$k/$n.pem.ocsp")" != "${first[$n]}" ] || return 1
			[ "$(staple_status "$T/node$k/$n.pem")" = good ] || return 1
		done
	done
}
wait_for -t 60 renewed || fail "not every node renewed every staple ($(responder_requests) requests)"
sleep 1
[ "$(responder_requests)" = 6 ] || fail "renewal on 4 nodes: $(responder_requests) responder requests in all, expected 6 (3 + one per certificate)"
ok "renewal: one request per certificate for the four nodes"
for n in $names; do
	wait_for served_renewed "$port" $n "$T/node1/$n.pem.ocsp" "${first[$n]}" ||
		fail "$n: HAProxy does not serve the renewed staple"
done
ok "node 1's HAProxy serves the renewed staples"
pass
