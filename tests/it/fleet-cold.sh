#!/bin/bash
# fleet-cold: fleet mode on one Redis (issue 13), cold start and a renewal.
#  - three nodes over three directories holding the same three certificates
#    (copies), started together against one redis-server with a password:
#    the responder gets one request per certificate in all;
#  - every node's staples verify (openssl ocsp -respin); each node's own
#    HAProxy serves them (s_client -status); /metrics of the three say 3
#    leases won and 6 staples taken from Redis in all;
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

declare -a port sport
for k in 1 2 3; do
	port[$k]=$(free_port)
	write_haproxy_cfg "$T/haproxy$k.cfg" "$T/admin$k.sock" "${port[$k]}" "$T/node$k"
	start_haproxy "$T/haproxy$k.cfg"
done

args="--minimum-validity 580 --refresh-interval 300"
for k in 1 2 3 4; do sport[$k]=$(free_port); done
for k in 1 2 3; do
	# shellcheck disable=SC2086
	start_fleet_node $k "$T/ocspd$k.log" $args -s "$T/node$k=$T/admin$k.sock" --status-listen "${sport[$k]}" "$T/node$k"
done
wait_for fleet_good "1 2 3" $names || fail "not every node got a good staple for every certificate"
sleep 1	# a late duplicate request would show here
[ "$(responder_requests)" = 3 ] || fail "cold start of 3 nodes: $(responder_requests) responder requests, expected 3 (one per certificate)"
ok "cold start: 3 nodes x 3 certificates, 3 responder requests; every staple verifies"

for k in 1 2 3; do
	for n in $names; do
		wait_for served_good "${port[$k]}" $n || fail "$n: node $k's HAProxy does not staple a good response"
	done
done
ok "every node's HAProxy serves the staples"
# metric NAME: its sum over nodes 1-3.
metric() {
	local k sum=0 v
	for k in 1 2 3; do
		v=$(curl -sf "http://127.0.0.1:${sport[$k]}/metrics" | awk -v m="$1" '$1 == m { print $2 }')
		sum=$((sum + ${v:-0}))
	done
	echo $sum
}
[ "$(metric ocspd_redis_up)" = 3 ] || fail "/metrics: ocspd_redis_up is not 1 on every node"
[ "$(metric ocspd_redis_leases_won_total)" = 3 ] || fail "/metrics: $(metric ocspd_redis_leases_won_total) leases won, expected 3"
[ "$(metric ocspd_redis_staples_total)" = 6 ] || fail "/metrics: $(metric ocspd_redis_staples_total) staples from Redis, expected 6"
ok "/metrics: 3 leases won, 6 staples from Redis"
grep -q "sharing staples with the fleet" "$T/ocspd1.log" || fail "node 1 never said it is connected to Redis"
grep -q "$REDIS_PASS" "$T"/ocspd*.log && fail "the Redis password is in a log"

# shellcheck disable=SC2086
start_fleet_node 4 "$T/ocspd4.log" $args --status-listen "${sport[4]}" "$T/node4"
wait_for fleet_good 4 $names || fail "node 4 got no staple from the fleet"
[ "$(responder_requests)" = 3 ] || fail "node 4 started later: $(responder_requests) responder requests, expected still 3"
curl -sf "http://127.0.0.1:${sport[4]}/metrics" | grep -q '^ocspd_redis_staples_total 3$' || fail "node 4: /metrics does not count 3 staples from Redis"
ok "a fourth node staples everything from Redis, no request"

# The renewal: every node holds a staple younger than the first round's.
declare -A first
for n in $names; do first[$n]=$(this_update_file "$T/node1/$n.pem.ocsp"); done
renewed() {
	local n
	for n in $names; do fleet_renewed "1 2 3 4" "$n" "${first[$n]}" || return 1; done
}
wait_for -t 60 renewed || fail "not every node renewed every staple ($(responder_requests) requests)"
sleep 1
[ "$(responder_requests)" = 6 ] || fail "renewal on 4 nodes: $(responder_requests) responder requests in all, expected 6 (3 + one per certificate)"
ok "renewal: one request per certificate for the four nodes"
for k in 1 2 3; do
	for n in $names; do
		wait_for served_renewed "${port[$k]}" $n "$T/node$k/$n.pem.ocsp" "${first[$n]}" ||
			fail "$n: node $k's HAProxy does not serve the renewed staple"
	done
done
ok "every node's HAProxy serves the renewed staples"
pass
