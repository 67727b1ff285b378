#!/bin/bash
# trust-status: status clients get answers or errors for themselves, and
# nothing else (issue 11, point 6). One daemon on N certificates (default
# 6,000, long paths: a /status document of about 6 MB) stapled by a real
# openssl ocsp responder, then:
#  slow    400 connections from 127.0.0.2 that send half a request and hold
#          (and come back when closed): /metrics still answers a client on
#          127.0.0.1 at once, 5 times in a row (each waited for 10 s at most);
#  noread  64 clients (8 addresses) ask for /status and never read: all 64
#          accepted, daemon RSS grows by less than 3 documents + 8 MB (one
#          copy per client before), each connection's kernel send queue
#          stays under 1 MB;
#  poll    24 clients poll /status in a loop: a certificate dropped into
#          the directory gets its staple within max(1 s, 10 x the time it
#          took without them) (2.3 s against 0.06 s before, at 20,000).
# Environment: STATUS_N (certificates), PARTS (default "slow noread poll";
# to check one part against an old build).
. "$(dirname "$0")/../lib.sh"
setup
N=${STATUS_N:-6000}
PARTS=${PARTS:-slow noread poll}
CLIENTS=$ROOT/tests/status-clients.py

# The PKI: bench/genpki (N leaves in a second or two), served by openssl ocsp.
GENPKI=$ROOT/bench/build/genpki
if [ ! -x "$GENPKI" ]; then
	GENPKI=$T/genpki
	cc -D_GNU_SOURCE -std=c11 -O2 -o "$GENPKI" "$ROOT/bench/genpki.c" -lcrypto || fail "cannot build bench/genpki.c"
fi
RESP_PORT=$(free_port)
mkdir -p "$T/g/ca"
"$GENPKI" -n $((N + 2)) -K "$T/g/ca" "http://127.0.0.1:$RESP_PORT/" >/dev/null 2>"$T/genpki.log" ||
	fail "genpki: $(cat "$T/genpki.log")"
CA=$T/g/ca
# Long paths make the document large (a rendering the kernel cannot simply
# swallow into one socket buffer): a 400-byte directory, 194-byte names
# (room left for the temporary file name).
W=$T/$(printf 'd%.0s' $(seq 200))/$(printf 'e%.0s' $(seq 200))
mkdir -p "$W" "$T/held"
python3 - "$CA/certs" "$W" "$T/held" "$N" <<'PY' || fail "cannot move the bundles"
import os, sys
src, dst, held, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
names = sorted(os.listdir(src))
for i, name in enumerate(names[:n]):
    os.rename(os.path.join(src, name), os.path.join(dst, name[:-4] + "-" + "x" * 180 + ".pem"))
for i, name in enumerate(names[n:n + 2]):
    os.rename(os.path.join(src, name), os.path.join(held, "new%d.pem" % (i + 1)))
PY
RSIGNER=$CA/ocsp-signer.pem RKEY=$CA/ocsp-signer.key start_responder "$T/g" "$RESP_PORT"

SP=$(free_port)
log=$T/ocspd.log
start_ocspd "$log" --ca-file "$CA/root.pem" --status-listen "127.0.0.1:$SP" "$W"
pid=$OCSPD_PID
wait_for -t 120 grep -q "first pass done" "$log" || fail "first pass not done"
n=$(find "$W" -name '*.ocsp' -size +0 | wc -l)
[ "$n" = "$N" ] || fail "$n staples of $N"
curl -sf "http://127.0.0.1:$SP/status" >"$T/status.json" || fail "GET /status"
DOC=$(stat -c %s "$T/status.json")
ok "$N certificates stapled; /status is $DOC bytes"

rss() { awk '/^VmRSS/ { print $2 * 1024 }' "/proc/$pid/status"; }
# stop_clients PID: the client script and its connections go.
stop_clients() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
addrs() { local i out=""; for i in $(seq "$1" "$2"); do out=$out${out:+,}127.0.0.$i; done; echo "$out"; }

# ---- slow: half requests held open.
if [[ " $PARTS " == *" slow "* ]]; then
	python3 "$CLIENTS" slow "$SP" 400 127.0.0.2 "$T/slow.ready" &
	cpid=$!
	track $cpid
	wait_for test -e "$T/slow.ready" || fail "slow clients did not start"
	sleep 1
	lines0=$(wc -l <"$log")
	worst=0
	for i in 1 2 3 4 5; do
		out=$(curl -s --max-time 10 -o "$T/m.txt" -w '%{http_code} %{time_total}' "http://127.0.0.1:$SP/metrics")
		[ "${out% *}" = 200 ] || fail "slow clients: /metrics attempt $i: '$out' (HTTP code, seconds)"
		grep -q "^ocspd_certificates{state=\"stapled\"} $N\$" "$T/m.txt" || fail "slow clients: /metrics without the stapled count"
		worst=$(python3 -c "print(max($worst, ${out#* }))")
		sleep 0.5
	done
	kill -0 "$cpid" 2>/dev/null || fail "the slow clients stopped by themselves"
	held=$(ss -tn state established "( dport = :$SP )" | grep -c '127\.0\.0\.2:')
	added=$(($(wc -l <"$log") - lines0))
	[ "$added" -lt 20 ] || fail "slow clients: $added log lines during the attack"
	stop_clients $cpid
	ok "slow: /metrics answered 5 of 5 (slowest ${worst} s) while 400 half requests pressed ($held held open); $added log lines"
fi

# ---- noread: clients that ask for /status and never read.
if [[ " $PARTS " == *" noread "* ]]; then
	sleep 1
	rss0=$(rss)
	python3 "$CLIENTS" noread "$SP" 64 "$(addrs 20 27)" "$T/noread.ready" &
	cpid=$!
	track $cpid
	wait_for test -e "$T/noread.ready" || fail "non-reading clients did not start"
	peak=$rss0 sendq=0 conns=0
	for _ in $(seq 30); do
		r=$(rss)
		[ "$r" -gt "$peak" ] && peak=$r
		sleep 0.1
	done
	# The daemon's side of each connection: established, and its send queue.
	read -r conns sendq < <(ss -tn state established "( sport = :$SP )" |
		awk '$4 ~ /^127\.0\.0\.(2[0-7]):/ { n++; if ($2 > m) m = $2 } END { print n + 0, m + 0 }')
	stop_clients $cpid
	grow=$((peak - rss0))
	limit=$((3 * DOC + 8 * 1024 * 1024))
	echo "noread: RSS $((rss0 >> 20)) MB -> peak $((peak >> 20)) MB (+$((grow >> 10)) KB, limit $((limit >> 10)) KB); $conns connections, largest send queue $sendq bytes"
	[ "$conns" = 64 ] || fail "noread: $conns of 64 clients connected"
	[ "$grow" -lt "$limit" ] || fail "noread: RSS grew by $((grow >> 20)) MB with 64 non-reading clients (limit $((limit >> 20)) MB)"
	[ "$sendq" -lt $((1 << 20)) ] || fail "noread: a connection holds $sendq bytes in its kernel send queue"
	ok "noread: 64 non-reading clients of a $DOC-byte /status: RSS +$((grow >> 20)) MB, send queues <= $sendq bytes"
fi

# ---- poll: a new certificate while clients poll /status.
# staple_delay NAME: rename it into the directory, print the seconds to its staple.
staple_delay() {
	cp "$T/held/$1" "$W/.$1.tmp"
	local t0
	t0=$(date +%s.%N)
	mv "$W/.$1.tmp" "$W/$1"
	wait_for -t 60 test -s "$W/$1.ocsp" || fail "$1: no staple within 60 s"
	python3 -c "print('%.3f' % ($(date +%s.%N) - $t0))"
}
if [[ " $PARTS " == *" poll "* ]]; then
	sleep 1
	d0=$(staple_delay new1.pem)
	python3 "$CLIENTS" poll "$SP" 24 "$(addrs 40 63)" "$T/polls" &
	cpid=$!
	track $cpid
	wait_for eval '[ "$(cat "$T/polls" 2>/dev/null || echo 0)" -ge 24 ]' || fail "pollers got no answers"
	p0=$(cat "$T/polls")
	d1=$(staple_delay new2.pem)
	sleep 0.6
	p1=$(cat "$T/polls")
	stop_clients $cpid
	check_staple "$W/new2.pem"
	limit=$(python3 -c "print('%.3f' % max(1.0, 10 * $d0))")
	echo "poll: staple in $d0 s alone, $d1 s with 24 clients polling ($((p1 - p0)) answers meanwhile; limit $limit s)"
	python3 -c "import sys; sys.exit(0 if $d1 <= $limit else 1)" ||
		fail "poll: the new certificate waited $d1 s for its staple with clients polling /status ($d0 s without)"
	ok "poll: new certificate stapled in $d1 s while 24 clients polled /status ($d0 s without)"
fi

kill -0 "$pid" 2>/dev/null || fail "ocspd died"
stop_pid "$pid"
[ "$RC" = 0 ] || fail "SIGTERM: exit $RC"
pass
