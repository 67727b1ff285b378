#!/bin/bash
# fleet-reject: what Redis holds is untrusted (issue 13, DESIGN.md section 8).
#  - a staple in Redis with a broken signature, another certificate's
#    response, an expired one, bytes that are no response at all and 70,000
#    random bytes (over the 64 KiB cap), each
#    written by the test under a certificate's key: two nodes starting
#    against it both reject it (one log line each, naming the key), never
#    store it, fetch their own staple from the responder, and the value in
#    Redis is replaced by a good one;
#  - a wrong password: one clear error naming the URL without the password,
#    the node staples alone (local mode), /metrics says ocspd_redis_up 0,
#    /status and `ocspd status` say "refused", and the password is in no log.
. "$(dirname "$0")/../lib.sh"
setup
make_pki
start_responder "$PKI" "$RESP_PORT"
start_redis
find_faultd
fport=$(free_port)
start_faultd "$fport"

# The keys of good1 and good2: each seeded by a node that fetched it alone.
seeded_good() { [ "$(staple_status "$T/seed-$1/$1.pem")" = good ]; }
redis_staples() { rcli --scan --pattern 'ocspd:staple:*' | sort; }
more_staples() { [ "$(redis_staples | wc -l)" -gt "$1" ]; }
seed() {	# seed NAME: sets KEY to the key NAME's staple was stored under
	local before
	before=$(redis_staples)
	mkdir -p "$T/seed-$1"
	cp "$CERTS/$1.pem" "$T/seed-$1/"
	start_fleet_node 0 "$T/seed-$1.log" "$T/seed-$1"
	wait_for seeded_good "$1" || fail "seed node: no staple for $1"
	wait_for more_staples "$(echo "$before" | grep -c .)" || fail "seed node: $1's staple not in Redis"
	stop_pid $OCSPD_PID
	KEY=$(comm -13 <(echo "$before") <(redis_staples))
}
seed good1
k1=$KEY
seed good2
k2=$KEY
[ -n "$k1" ] && [ -n "$k2" ] && [ "$k1" != "$k2" ] || fail "no distinct keys for good1 and good2 ($k1, $k2)"
ok "seeded: $k1 (good1), $k2 (good2)"

# The bad values for good1's key.
bad=$T/bad
mkdir -p "$bad"
python3 - "$T/seed-good1/good1.pem.ocsp" "$bad/badsig" <<'PY'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
d[-5] ^= 0x55	# inside the signature value: still DER, no longer signed
open(sys.argv[2], "wb").write(d)
PY
cp "$T/seed-good2/good2.pem.ocsp" "$bad/foreign"
openssl ocsp -issuer "$CA/inter.pem" -cert "$CERTS/good1.pem" -no_nonce -reqout "$T/good1.req" >/dev/null 2>&1 ||
	fail "cannot make good1's OCSP request"
curl -sf --data-binary @"$T/good1.req" -H 'Content-Type: application/ocsp-request' \
	-o "$bad/expired" "http://127.0.0.1:$fport/stale" || fail "faultd gave no stale response"
printf 'not an OCSP response' >"$bad/garbage"
head -c 70000 /dev/urandom >"$bad/huge"	# more than any response accepted (64 KiB)

declare -a pids
for kind in badsig foreign expired garbage huge; do
	before=$(responder_requests)
	# One node after the other, each finding the bad value (the first one's staple replaces it).
	for k in 1 2; do
		rcli -x SET "$k1" <"$bad/$kind" >/dev/null || fail "$kind: cannot write into Redis"
		d=$T/$kind-$k
		mkdir -p "$d"
		cp "$CERTS/good1.pem" "$d/"
		start_fleet_node $k "$T/$kind-$k.log" "$d"
		pids[$k]=$OCSPD_PID
		wait_for eval '[ "$(staple_status "$d/good1.pem")" = good ]' || fail "$kind: node $k has no good staple"
		cmp -s "$d/good1.pem.ocsp" "$bad/$kind" && fail "$kind: node $k stored the value from Redis"
		[ "$(count_log "$T/$kind-$k.log" "redis key $k1: value rejected")" = 1 ] ||
			fail "$kind: node $k did not log the rejection once, naming the key"
	done
	[ "$(responder_requests)" -ge $((before + 2)) ] || fail "$kind: the nodes did not ask the responder"
	in_redis() { rcli --raw GET "$k1" | head -c -1 | cmp -s - "$1"; }
	wait_for in_redis "$T/$kind-2/good1.pem.ocsp" || fail "$kind: the bad value in Redis was not replaced by a node's staple"
	stop_pid "${pids[1]}"
	stop_pid "${pids[2]}"
	ok "$kind value in Redis: rejected by both nodes, never stored; replaced by a fetched staple"
done

# A wrong password: one error, local mode, and no password in any log.
sport=$(free_port)
d=$T/wrongpw
mkdir -p "$d"
cp "$CERTS/good2.pem" "$d/"
before=$(responder_requests)
printf 'redis = redis://:wrong-%s@127.0.0.1:%s\n' "$REDIS_PASS" "$REDIS_PORT" >"$T/wrongpw.conf"
start_ocspd "$T/wrongpw.log" -c "$T/wrongpw.conf" --ca-file "$CA/root.pem" --status-listen "$sport" "$d"
wpid=$OCSPD_PID
wait_for eval '[ "$(staple_status "$d/good2.pem")" = good ]' || fail "wrong password: no staple in local mode"
[ "$(responder_requests)" -gt "$before" ] || fail "wrong password: the staple did not come from the responder"
[ "$(count_log "$T/wrongpw.log" "error: redis redis://:\*\*\*@127\.0\.0\.1:$REDIS_PORT: AUTH refused")" = 1 ] ||
	fail "wrong password: not exactly one error line naming the URL without its password"
curl -sf "http://127.0.0.1:$sport/metrics" >"$T/m.txt" || fail "no /metrics"
grep -q '^ocspd_redis_up 0$' "$T/m.txt" || fail "/metrics: ocspd_redis_up is not 0 ($(grep redis_up "$T/m.txt"))"
grep -Eq '^ocspd_redis_unavailable_fetches_total [1-9]' "$T/m.txt" || fail "/metrics: the fetch without Redis was not counted"
curl -sf "http://127.0.0.1:$sport/status" | grep -q '"redis":{"state":"refused","url":"redis://:\*\*\*@' ||
	fail "/status has no redis object saying refused"
"$OCSPD" status "127.0.0.1:$sport" >"$T/status.out" 2>&1
grep -q "^redis: refused (redis://:\*\*\*@127.0.0.1:$REDIS_PORT)" "$T/status.out" || fail "ocspd status: no Redis state line"
ok "wrong password: one error naming the URL without it, local mode, redis_up 0, status says refused"

# SIGHUP with the right password: connects at once, no restart.
printf 'redis = %s\n' "$REDIS_URL" >"$T/wrongpw.conf"
kill -HUP "$wpid"
wait_log "$T/wrongpw.log" "redis redis://:\*\*\*@127\.0\.0\.1:$REDIS_PORT: connected" || fail "SIGHUP: no connection with the new password"
redis_up() { curl -sf "http://127.0.0.1:$sport/metrics" | grep -q '^ocspd_redis_up 1$'; }
wait_for redis_up || fail "SIGHUP: ocspd_redis_up is not 1"
ok "SIGHUP with a changed redis setting reconnects"
grep -l -- "$REDIS_PASS" "$T"/*.log "$T/status.out" | grep -v redis.log && fail "a password is in a log"
ok "no password in any log"
pass
