#!/bin/bash
# fleet-leasekill: the node holding a certificate's lease dies (SIGKILL)
# while it fetches (issue 13). The responder hangs (faultd hang) while node
# 1 holds the lease, node 2 waits for it; node 1 is killed and the responder
# comes back: node 2 takes over when the lease ends (--redis-lease 12) and
# staples the certificate, with the one request it makes.
. "$(dirname "$0")/../lib.sh"
setup
make_pki
find_faultd
start_redis
fleet_copies 2 good1
start_faultd "$RESP_PORT" -m hang
lease=12
start_fleet_node 1 "$T/ocspd1.log" -v --redis-lease $lease "$T/node1"
pid1=$OCSPD_PID
wait_log "$T/ocspd1.log" "good1\.pem: fleet: lease taken" || fail "node 1 did not take the lease"
wait_for grep -q "hang" "$T/faultd.log" || fail "node 1's request did not reach the hanging responder"
start_fleet_node 2 "$T/ocspd2.log" -v --redis-lease $lease "$T/node2"
wait_log "$T/ocspd2.log" "good1\.pem: fleet: another node is fetching" || fail "node 2 did not wait for node 1's lease"
kill -KILL $pid1
wait $pid1 2>/dev/null
kill "$FAULTD_PID"
wait "$FAULTD_PID" 2>/dev/null
start_responder "$PKI" "$RESP_PORT"
ok "node 1 killed holding the lease; node 2 waiting"

wait_for -t $((lease + 15)) eval '[ "$(staple_status "$T/node2/good1.pem")" = good ]' ||
	fail "node 2 did not staple good1 after the dead node's lease ended"
grep -q "good1\.pem: fleet: lease taken" "$T/ocspd2.log" || fail "node 2 did not take the lease over"
[ "$(responder_requests)" = 1 ] || fail "$(responder_requests) requests to the responder, expected node 2's one"
no_staple "$T/node1/good1.pem"
ok "node 2 took over after the lease and stapled good1"
pass
