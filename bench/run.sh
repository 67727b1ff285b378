#!/bin/bash
# bench/run.sh — ocspd's benchmark (issue 5). Prints one table and writes it to
# bench/results/latest.txt. See bench/README.md for what each row means.
#
# Knobs (environment):
#   OCSPD          daemon binary                  (../ocspd)
#   BENCH_N        certificates, large runs       (10000)
#   BENCH_SMALL    certificates, small cold start (1000)
#   BASELINE_N     certificates for the openssl-ocsp shell loop (200)
#   IDLE_SECONDS   steady-state measuring window  (60)
#   NEW_FILES      files dropped for the latency run (100), INTERVAL_MS apart (20)
#   STORM_VALIDITY response lifetime (s) for the renewal storm (120): every
#                  staple is due at STORM_VALIDITY/2, within 10 % jitter
#   BENCH_WORK     scratch directory (build/work; removed at the end unless BENCH_KEEP=1)
#   BASELINE       another ocspd binary (e.g. the last release) to compare with:
#                  the whole run is made for it first, with the same knobs, and
#                  its figures are printed below each row of OCSPD's
#   ROWS_OUT       write the raw rows (tab-separated) to this file too
set -u
cd "$(dirname "$0")"
BENCH=$PWD
OCSPD=${OCSPD:-$BENCH/../ocspd}
BENCH_N=${BENCH_N:-10000}
BENCH_SMALL=${BENCH_SMALL:-1000}
BASELINE_N=${BASELINE_N:-200}
IDLE_SECONDS=${IDLE_SECONDS:-60}
NEW_FILES=${NEW_FILES:-100}
INTERVAL_MS=${INTERVAL_MS:-20}
STORM_VALIDITY=${STORM_VALIDITY:-120}
WORK=${BENCH_WORK:-$BENCH/build/work}
B=$BENCH/build
RESULTS=${RESULTS:-$BENCH/results}

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }

[ -x "$OCSPD" ] || die "no daemon at $OCSPD (run 'make bench' from the top, or set OCSPD)"
OCSPD=$(cd "$(dirname "$OCSPD")" && pwd)/$(basename "$OCSPD")
make -s -C "$BENCH" all || die "cannot build the bench helpers"
BASE_ROWS=""
TAB=$'\t'
if [ -n "${BASELINE:-}" ]; then
	[ -x "$BASELINE" ] || die "no baseline binary at $BASELINE"
	BASE_ROWS=$WORK.baseline-rows
	say "baseline run first: $BASELINE"
	base_bin=$(cd "$(dirname "$BASELINE")" && pwd)/$(basename "$BASELINE")
	BASELINE="" OCSPD=$base_bin ROWS_OUT=$BASE_ROWS BENCH_WORK=$WORK.baseline \
	    RESULTS=$BENCH/build/results-baseline "$BENCH/run.sh" >&2 || die "the baseline run failed"
	say "now the binary under test: $OCSPD"
fi
[ "$BENCH_SMALL" -le "$BENCH_N" ] || BENCH_SMALL=$BENCH_N
[ "$BASELINE_N" -le "$BENCH_N" ] || BASELINE_N=$BENCH_N

RESPONDER_PID=""
DAEMON_PID=""
cleanup() {
	[ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
	[ -n "$RESPONDER_PID" ] && kill "$RESPONDER_PID" 2>/dev/null && wait "$RESPONDER_PID" 2>/dev/null
	if [ "${BENCH_KEEP:-0}" != 1 ] && [ -d "$WORK" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- helpers

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# responder [ARGS...]: starts it on $PORT, waits until it is ready.
start_responder() {
	: >"$WORK/responder.out"
	"$B/responder" -p "$PORT" -s "$WORK/responder.stats" "$@" "$WORK/pki" \
	    >"$WORK/responder.out" 2>>"$WORK/responder.log" &
	RESPONDER_PID=$!
	for _ in $(seq 300); do
		grep -q '^ready' "$WORK/responder.out" 2>/dev/null && return 0
		kill -0 "$RESPONDER_PID" 2>/dev/null || die "responder died: $(cat "$WORK/responder.log")"
		sleep 0.05
	done
	die "responder not ready"
}
stop_responder() {
	kill "$RESPONDER_PID" 2>/dev/null; wait "$RESPONDER_PID" 2>/dev/null; RESPONDER_PID=""
}
# OCSP requests the responder answered since it started (or was reset).
requests() {
	python3 - "$PORT" <<'EOF' 2>/dev/null || echo 0
import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.1:%s/stats" % sys.argv[1], timeout=5).read().split()[1].decode())
EOF
}
reset_requests() { python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/reset', timeout=5).read()"; }

# Context switches of every thread of pid (a wake-up each, near enough).
ctx_switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {s += $2} END {print s + 0}'; }
peak_rss_mb() { awk '/VmHWM/ {printf "%.1f\n", $2 / 1024}' /proc/"$1"/status 2>/dev/null; }
# user+sys seconds of pid (all threads, including exited ones).
cpu_s() { awk -v t="$(getconf CLK_TCK)" '{print ($14 + $15) / t}' /proc/"$1"/stat 2>/dev/null; }
now() { date +%s.%N; }
calc() { awk -v OFMT=%.6f -v CONVFMT=%.6f "BEGIN {print $*}"; }
r2() { printf '%.2f' "$1"; }

# staples DIR: number of non-empty .ocsp files in DIR.
staples() { find "$1" -maxdepth 1 -name '*.ocsp' -size +0 | wc -l; }

ROWS=()
# row SCENARIO CERTS SECONDS CERTS/S CPU RSS TARGET NOTE
row() { ROWS+=("$(printf '%s\t' "$@")"); }
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" "$2"; }

start_daemon() {	# start_daemon LOG ARGS...: ocspd in the background
	local log=$1; shift
	"$OCSPD" "$@" 2>"$log" &
	DAEMON_PID=$!
}
stop_daemon() {
	kill "$DAEMON_PID" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=""
}
# Waits until the daemon's CPU time stops growing (3 quiet seconds, then 5 more), max $1 s.
settle() {
	local prev cur quiet=0
	prev=$(cpu_s "$DAEMON_PID")
	for _ in $(seq "$1"); do
		sleep 1
		cur=$(cpu_s "$DAEMON_PID")
		if awk "BEGIN {exit !($cur - $prev < 0.02)}"; then quiet=$((quiet + 1)); else quiet=0; fi
		prev=$cur
		[ $quiet -ge 3 ] && sleep 5 && return 0
	done
	return 1
}
errors_in() { grep -ciE ' (error|warning|crit)[a-z]*:' "$1" 2>/dev/null || true; }

# ---------------------------------------------------------------- set-up

rm -rf "$WORK"
mkdir -p "$WORK" "$RESULTS" || die "cannot create $WORK"
PORT=$(free_port) || die "python3 is needed to pick a free port"
URL="http://127.0.0.1:$PORT/"
TOTAL=$((BENCH_N + NEW_FILES))
say "generating $TOTAL certificates (OCSP URL $URL) in $WORK/pki"
"$B/measure" -o "$WORK/genpki.m" "$B/genpki" -n "$TOTAL" "$WORK/pki" "$URL" 2>"$WORK/genpki.log" ||
	die "genpki failed: $(cat "$WORK/genpki.log")"
CA=$WORK/pki/root.pem
BIG=$WORK/pki/certs
mkdir -p "$WORK/spare" "$WORK/small" "$WORK/baseline"
# The last NEW_FILES leaves are kept aside for the latency run.
ls "$BIG" | sort | tail -n "$NEW_FILES" | (cd "$BIG" && xargs -r mv -t "$WORK/spare")
ls "$BIG" | sort | head -n "$BENCH_SMALL" | (cd "$BIG" && xargs -r cp -t "$WORK/small")
ls "$BIG" | sort | head -n "$BASELINE_N" | (cd "$BIG" && xargs -r cp -t "$WORK/baseline")
sync
G_WALL=$(field wall "$WORK/genpki.m")
row "setup: genpki" "$TOTAL" "$G_WALL" "$(calc "$TOTAL / $G_WALL" | xargs printf '%.0f')" \
	"$(r2 "$(calc "$(field user "$WORK/genpki.m") + $(field sys "$WORK/genpki.m")")")" \
	"$(calc "$(field maxrss_kb "$WORK/genpki.m") / 1024" | xargs printf '%.1f')" "-" "test PKI (EC P-256)"

say "starting the responder on port $PORT (pre-signs $TOTAL answers)"
start_responder

# ---------------------------------------------------------------- cold starts

# cold NAME DIR COUNT: one-off run without recycling, against the responder.
cold() {
	local name=$1 dir=$2 count=$3 m=$WORK/$1.m log=$WORK/$1.log r0 r1 rc wall cpu rss rate n target note
	r0=$(requests)
	"$B/measure" -o "$m" "$OCSPD" --one-off --no-recycle -q --ca-file "$CA" "$dir" 2>"$log"
	rc=$?
	r1=$(requests)
	wall=$(field wall "$m"); cpu=$(r2 "$(calc "$(field user "$m") + $(field sys "$m")")")
	rss=$(calc "$(field maxrss_kb "$m") / 1024" | xargs printf '%.1f')
	rate=$(calc "$count / $wall" | xargs printf '%.0f')
	n=$(staples "$dir")
	note="exit $rc, $n/$count stapled, $((r1 - r0)) requests"
	[ "$(errors_in "$log")" -gt 0 ] && note="$note, $(errors_in "$log") error lines"
	target="ok"
	if [ "$count" -ge "$BENCH_N" ]; then
		awk "BEGIN {exit !($rate >= 5000)}" || target="MISSED >=5000/s"
		awk "BEGIN {exit !($rss < 40)}" || target="${target/ok/} MISSED <40MB"
		COLD_RATE=$rate
	fi
	[ "$rc" -eq 0 ] && [ "$n" -eq "$count" ] || target="FAILED"
	row "$name" "$count" "$wall" "$rate" "$cpu" "$rss" "$target" "$note"
}

say "cold start, $BENCH_SMALL certificates"
cold "cold start" "$WORK/small" "$BENCH_SMALL"
say "cold start, $BENCH_N certificates"
COLD_RATE=0
cold "cold start" "$BIG" "$BENCH_N"

# Restart with every staple still valid: parse + verify + recycle, no fetch.
say "warm start (recycle), $BENCH_N certificates"
r0=$(requests)
"$B/measure" -o "$WORK/warm.m" "$OCSPD" --one-off -q --ca-file "$CA" "$BIG" 2>"$WORK/warm.log"
rc=$?
r1=$(requests)
m=$WORK/warm.m; wall=$(field wall "$m")
row "warm start (recycle)" "$BENCH_N" "$wall" "$(calc "$BENCH_N / $wall" | xargs printf '%.0f')" \
	"$(r2 "$(calc "$(field user "$m") + $(field sys "$m")")")" \
	"$(calc "$(field maxrss_kb "$m") / 1024" | xargs printf '%.1f')" \
	"$([ "$rc" -eq 0 ] && echo ok || echo FAILED)" "exit $rc, $((r1 - r0)) requests (0 expected)"

# ---------------------------------------------------------------- baseline

say "baseline: openssl ocsp in a shell loop, $BASELINE_N certificates"
cat >"$WORK/baseline.sh" <<EOF
for f in "$WORK/baseline"/*.pem; do
	openssl ocsp -issuer "$WORK/pki/inter.pem" -cert "\$f" -url "$URL" \\
	    -CAfile "$CA" -respout "\$f.ocsp"
done
EOF
"$B/measure" -o "$WORK/baseline.m" sh "$WORK/baseline.sh" >"$WORK/baseline.log" 2>&1
m=$WORK/baseline.m; wall=$(field wall "$m")
BASE_RATE=$(calc "$BASELINE_N / $wall")
good=$(grep -c ': good$' "$WORK/baseline.log")
RATIO=$(calc "$COLD_RATE / $BASE_RATE" | xargs printf '%.1f')
target="ok"; awk "BEGIN {exit !($RATIO >= 30)}" || target="MISSED >=30x"
row "baseline: openssl ocsp loop" "$BASELINE_N" "$wall" "$(printf '%.0f' "$BASE_RATE")" \
	"$(r2 "$(calc "$(field user "$m") + $(field sys "$m")")")" \
	"$(calc "$(field maxrss_kb "$m") / 1024" | xargs printf '%.1f')" \
	"$target" "$good/$BASELINE_N good; ocspd cold start is ${RATIO}x faster"

# ---------------------------------------------------------------- steady state

say "steady state: daemon on $BENCH_N stapled certificates, ${IDLE_SECONDS}s window"
start_daemon "$WORK/daemon.log" -q --ca-file "$CA" "$BIG"
t0=$(now)
settle 120 || say "daemon did not settle in 120 s"
SETTLE=$(calc "$(now) - $t0" | xargs printf '%.1f')
r0=$(requests)
x0=$(ctx_switches "$DAEMON_PID"); s0=$(cpu_s "$DAEMON_PID")
sleep "$IDLE_SECONDS"
x1=$(ctx_switches "$DAEMON_PID"); s1=$(cpu_s "$DAEMON_PID")
r1=$(requests)
if kill -0 "$DAEMON_PID" 2>/dev/null; then
	idle_cpu=$(calc "$s1 - $s0")
	pct=$(calc "100 * $idle_cpu / $IDLE_SECONDS" | xargs printf '%.3f')
	wakeups=$(calc "($x1 - $x0) / $IDLE_SECONDS" | xargs printf '%.1f')
	target="ok"; awk "BEGIN {exit !($pct < 0.1)}" || target="MISSED <0.1%"
	rss=$(peak_rss_mb "$DAEMON_PID")
	awk "BEGIN {exit !($rss < 40)}" || target="${target/ok/} MISSED <40MB"
	row "steady state (idle)" "$BENCH_N" "$IDLE_SECONDS" "-" "$(printf '%.3f' "$idle_cpu")" "$rss" "$target" \
		"${pct}% of a core, $wakeups ctx switches/s, $((r1 - r0)) requests, settled ${SETTLE}s after start"
else
	row "steady state (idle)" "$BENCH_N" "$IDLE_SECONDS" "-" "-" "-" "FAILED" "daemon exited: $(tail -1 "$WORK/daemon.log")"
fi

# ---------------------------------------------------------------- new file latency

if kill -0 "$DAEMON_PID" 2>/dev/null; then
	say "new file -> staple: $NEW_FILES files, ${INTERVAL_MS} ms apart"
	t0=$(now)
	"$B/latency" -i "$INTERVAL_MS" -t 15 -o "$WORK/latency.txt" "$WORK/spare" "$BIG" "$NEW_FILES" \
		>"$WORK/latency.out" 2>&1
	t1=$(now)
	p50=$(field p50_ms "$WORK/latency.out"); p99=$(field p99_ms "$WORK/latency.out")
	ok=$(field stapled "$WORK/latency.out")
	target="ok"; awk "BEGIN {exit !($p99 < 200 && $p99 >= 0)}" || target="MISSED p99<200ms"
	[ "${ok:-0}" -eq "$NEW_FILES" ] || target="FAILED"
	row "new file -> staple" "$NEW_FILES" "$(calc "$t1 - $t0" | xargs printf '%.2f')" "-" "-" \
		"$(peak_rss_mb "$DAEMON_PID")" "$target" \
		"$ok stapled; p50 ${p50} ms, p90 $(field p90_ms "$WORK/latency.out") ms, p99 ${p99} ms, max $(field max_ms "$WORK/latency.out") ms"
fi
[ -n "$DAEMON_PID" ] && stop_daemon
DAEMON_ERRORS=$(errors_in "$WORK/daemon.log")

# ---------------------------------------------------------------- renewal storm

# The responder gives every answer of its first 0.4 * STORM_VALIDITY seconds
# one window [start, start + STORM_VALIDITY] (-W), so every staple the
# daemon fetches at start falls due at start + STORM_VALIDITY/2, less up to
# 10 % jitter: all of them at once. Staples are emptied first, as the daemon
# rightly refuses to replace a staple with one that expires earlier.
M=$(find "$BIG" -maxdepth 1 -name '*.pem' | wc -l)
say "renewal storm: $M certificates, all due $((STORM_VALIDITY / 2))s after start"
find "$BIG" -maxdepth 1 -name '*.ocsp' -exec truncate -s 0 {} +
stop_responder
t0=$(now)
start_responder -W -V "$STORM_VALIDITY"
start_daemon "$WORK/storm.log" -q --no-recycle --ca-file "$CA" "$BIG"
deadline=$(calc "$t0 + 2 * $STORM_VALIDITY")
t_cold="" t_first="" t_done="" cpu_at_mark=0
while :; do
	r=$(requests); t=$(now)
	if [ -z "$t_cold" ] && [ "$r" -ge "$M" ]; then
		t_cold=$t
		# Staples are written right after their request: wait, then mark the
		# end of the cold fetch (renewals start far later).
		sleep 2
		touch "$WORK/cold.mark"; cpu_at_mark=$(cpu_s "$DAEMON_PID")
	fi
	[ -z "$t_first" ] && [ "$r" -gt "$M" ] && t_first=$t
	if [ "$r" -ge $((2 * M)) ]; then t_done=$t; break; fi
	awk "BEGIN {exit !($t > $deadline)}" && break
	kill -0 "$DAEMON_PID" 2>/dev/null || break
	sleep 0.1
done
renewed() { find "$BIG" -maxdepth 1 -name '*.ocsp' -size +0 -newer "$WORK/cold.mark" | wc -l; }
if [ -n "$t_done" ]; then
	for _ in $(seq 30); do [ "$(renewed)" -ge "$M" ] && break; sleep 0.5; done
	renewed=$(renewed)
	# First and last renewed staple, from the files' modification times.
	find "$BIG" -maxdepth 1 -name '*.ocsp' -size +0 -newer "$WORK/cold.mark" -printf '%T@\n' |
		sort -n >"$WORK/storm.mtimes"
	m_first=$(head -1 "$WORK/storm.mtimes"); m_last=$(tail -1 "$WORK/storm.mtimes")
	window=$(calc "$m_last - $m_first" | xargs printf '%.2f')
	cpu=$(calc "$(cpu_s "$DAEMON_PID") - $cpu_at_mark" | xargs printf '%.2f')
	target="ok"
	[ "$renewed" -ge "$M" ] || target="MISSED: $renewed renewed"
	awk "BEGIN {exit !($m_last - $t0 < $STORM_VALIDITY)}" || target="MISSED: after expiry"
	rss=$(peak_rss_mb "$DAEMON_PID")
	awk "BEGIN {exit !($rss < 40)}" || target="${target/ok/} MISSED <40MB"
	row "renewal storm" "$renewed" "$window" "$(calc "$renewed / ($window > 0 ? $window : 0.01)" | xargs printf '%.0f')" \
		"$cpu" "$rss" "$target" \
		"cold fetch done at $(calc "$t_cold - $t0" | xargs printf '%.1f')s; $renewed of $M staples renewed from $(calc "$m_first - $t0" | xargs printf '%.1f')s to $(calc "$m_last - $t0" | xargs printf '%.1f')s (expiry ${STORM_VALIDITY}s); $(requests) requests"
else
	row "renewal storm" "$M" "-" "-" "-" "-" "FAILED" \
		"$(requests) requests of $((2 * M)) expected; $(tail -1 "$WORK/storm.log")"
fi
stop_daemon
stop_responder

# ---------------------------------------------------------------- table

{
	echo "ocspd benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores $(sed -n 's/model name.*: //p' /proc/cpuinfo | head -1), $(uname -sr)"
	echo "ocspd $("$OCSPD" --version 2>&1 | head -1), $(openssl version | cut -d' ' -f1-2), workdir $(df -T "$WORK" | awk 'NR == 2 {print $2}')"
	[ -n "$BASE_ROWS" ] && echo "baseline (rows marked \"  baseline\", run first with the same knobs): $BASELINE"
	echo "targets: cold start >= 5000 certs/s and >= 30x the openssl loop, peak RSS < 40 MB, idle < 0.1% of a core, new file p99 < 200 ms"
	echo
	{
		printf 'scenario\tcerts\tseconds\tcerts/s\tCPU s\tpeak RSS MB\ttarget\tnote\n'
		for r in "${ROWS[@]}"; do
			printf '%s\n' "$r"
			# The baseline's row of the same scenario and size, right below.
			rest=${r#*"$TAB"}
			[ -n "$BASE_ROWS" ] && awk -F'\t' -v s="${r%%"$TAB"*}" -v n="${rest%%"$TAB"*}" -v OFS='\t' \
			    '$1 == s && $2 == n { $1 = "  baseline"; print }' "$BASE_ROWS"
		done
	} | awk -F'\t' '
		{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } nf[NR] = NF }
		END {
			for (r = 1; r <= NR; r++) {
				line = ""
				for (i = 1; i <= 8; i++) {
					v = cell[r, i]
					if (i == 8) line = line v
					else if (i == 1 || i == 7) line = line sprintf("%-" w[i] "s  ", v)
					else line = line sprintf("%" w[i] "s  ", v)
				}
				print line
				if (r == 1) { s = ""; for (i = 1; i <= 8; i++) { for (j = 0; j < (i < 8 ? w[i] : 4); j++) s = s "-"; if (i < 8) s = s "  " } print s }
			}
		}'
	echo
	echo "ocspd logged $DAEMON_ERRORS error/warning lines in steady state; logs and raw data: $WORK (kept with BENCH_KEEP=1)"
} | tee "$RESULTS/latest.txt"
if [ -n "${ROWS_OUT:-}" ]; then printf '%s\n' "${ROWS[@]}" >"$ROWS_OUT"; fi
