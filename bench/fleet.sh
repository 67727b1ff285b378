#!/bin/bash
# bench/fleet.sh — fleet mode on one Redis (issue 13): what sharing staples
# saves the responder, and what it costs the nodes.
#
# N certificates (bench/genpki) copied into one directory per node; the fast
# bench/responder; one redis-server (tests/lib.sh start_redis: password, no
# persistence). In the same run:
#   independent   three `ocspd --one-off --no-recycle` over their copies at
#                 once, without --redis
#   fleet         the same three with --redis (cold: Redis empty)
#   fourth node   one more --redis node started after the fleet, its
#                 directory without staples: everything from Redis
#   alone         one node without --redis on its own: the cold start the
#                 fourth node is compared with
# Each row: responder requests, wall time until every node has every staple
# (the slowest node's exit), and per node CPU (user+sys) and peak RSS from
# bench/measure. Targets (issue 13): fleet N requests against 3N, the fourth
# node 0 requests and faster than a cold start of its own.
#
# Knobs: N (10000), BENCH_WORK (bench/build/fleet; removed unless
# BENCH_KEEP=1), OCSPD (../ocspd).
set -u
cd "$(dirname "$0")" || exit 1
# bench_init, bench_pki; tests/lib.sh's free_port, start_redis (which tracks
# redis-server and keeps its log in WORK).
. ./lib.sh
bench_init fleet
N=${N:-10000}
RESULTS=$BENCH/results

[ -x "$OCSPD" ] || die "no daemon at $OCSPD"
make -s -C "$BENCH" build/genpki build/responder build/measure >&2 || die "cannot build the bench helpers"
mkdir -p "$RESULTS"
bench_pki "$N" -K
requests() { curl -sf "http://127.0.0.1:$PORT/stats" | awk '{print $2}'; }
reset_requests() { curl -sf "http://127.0.0.1:$PORT/reset" >/dev/null; }
start_redis
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" "$2"; }
staples() { find "$1" -maxdepth 1 -name '*.ocsp' -size +0 | wc -l; }

# fresh NAME: a directory with the N certificates and no staples.
fresh() {
	rm -rf "${WORK:?}/$1"
	cp -r "$WORK/pki/certs" "$WORK/$1"
}

ROWS=()
# nodes LABEL NODE... (NODE = name:extra-args): runs them at once, adds a row per node and one for all.
nodes() {
	local label=$1 spec name args t0 t1 r0 n ok=1 pids="" m
	shift
	for spec; do fresh "${spec%%:*}"; done
	sync
	reset_requests
	r0=$(requests)
	t0=$(date +%s.%N)
	for spec; do
		name=${spec%%:*}
		args=${spec#*:}
		# shellcheck disable=SC2086
		"$B/measure" -o "$WORK/$name.m" "$OCSPD" --one-off --no-recycle -q --ca-file "$WORK/pki/root.pem" \
			$args "$WORK/$name" 2>"$WORK/$name.log" &
		pids="$pids $!"
	done
	for p in $pids; do wait "$p" || ok=0; done
	t1=$(date +%s.%N)
	for spec; do
		name=${spec%%:*}
		m=$WORK/$name.m
		n=$(staples "$WORK/$name")
		[ "$n" = "$N" ] || ok=0
		ROWS+=("$(printf '%s\t%s\t%s\t%.2f\t%.1f\t%s' "$label" "$name" "$(field wall "$m")" \
			"$(awk -v u="$(field user "$m")" -v s="$(field sys "$m")" 'BEGIN {print u + s}')" \
			"$(awk -v k="$(field maxrss_kb "$m")" 'BEGIN {print k / 1024}')" "exit $(field exit "$m"), $n/$N stapled")")
	done
	LAST_REQ=$(( $(requests) - r0 ))
	LAST_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
	ROWS+=("$(printf '%s\t%s\t%s\t-\t-\t%s' "$label" "all" "$LAST_WALL" "$LAST_REQ responder requests$([ $ok = 1 ] || echo ", FAILED")")")
}

R="--redis $REDIS_URL"
say "three independent nodes"
nodes independent "i1:" "i2:" "i3:"
IND_REQ=$LAST_REQ
say "three nodes, one Redis"
nodes fleet "f1:$R --redis-node f1" "f2:$R --redis-node f2" "f3:$R --redis-node f3"
FLEET_REQ=$LAST_REQ
say "a fourth node"
nodes "fourth node" "f4:$R --redis-node f4"
FOURTH_REQ=$LAST_REQ
FOURTH_WALL=$LAST_WALL
say "one node alone (the fourth node's own cold start)"
nodes alone "a1:"
COLD=$LAST_WALL

{
	echo "ocspd fleet benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, N=$N, redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')"
	echo "targets: fleet N requests (independent: 3N); fourth node 0 requests and faster than a cold start"
	echo
	{
		printf 'run\tnode\twall s\tCPU s\tpeak RSS MB\tnote\n'
		for r in "${ROWS[@]}"; do printf '%s\n' "$r"; done
	} | column -t -s "$(printf '\t')"
	echo
	echo "requests: independent $IND_REQ, fleet $FLEET_REQ ($([ "$FLEET_REQ" -le "$N" ] && echo ok || echo MISSED) <= $N)," \
		"fourth node $FOURTH_REQ ($([ "$FOURTH_REQ" = 0 ] && echo ok || echo MISSED) 0)"
	echo "fourth node: ${FOURTH_WALL}s from Redis against ${COLD}s for a cold start alone" \
		"($(awk -v a="$FOURTH_WALL" -v b="$COLD" 'BEGIN {print (a < b ? "ok" : "MISSED")}'))"
} | tee "$RESULTS/fleet.txt"
