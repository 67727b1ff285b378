#!/bin/bash
# bench/serve-ocsp.sh — the local OCSP responder (issue 14): answers per second
# from ocspd's cache (--serve-ocsp) with many keep-alive clients, against
# `openssl ocsp -index` serving the same certificates, in the same run.
#
# Makes N certificates (bench/genpki), has a running ocspd fetch a staple for
# each from bench/responder, builds the GET path of a request for each of the
# first R of them (openssl ocsp -reqout, base64, URL-escaped), then runs wrk
# (CONNS keep-alive connections, THREADS threads, DURATION seconds, the paths in turn) against
# ocspd's responder and against `openssl ocsp -index -multi CORES` (which
# signs every answer and closes the connection after it). One answer of each is checked
# with `openssl ocsp` (Response verify OK, good). Prints answers/s, p50, p99.
#
# Knobs: N (1000), R (200), CONNS (64), THREADS (2), DURATION (10), BENCH_WORK
# (bench/build/serve-ocsp; removed unless BENCH_KEEP=1), OCSPD (../ocspd).
set -u
cd "$(dirname "$0")" || exit 1
# bench_init, bench_pki; tests/lib.sh's free_port, wait_for, track_group.
. ./lib.sh
bench_init serve-ocsp
N=${N:-1000}
R=${R:-200}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
DURATION=${DURATION:-10}

command -v wrk >/dev/null || die "wrk is needed (scripts/deps.sh installs it)"
make -s -C "$ROOT" ocspd >&2 || die "cannot build ocspd"
make -s -C "$BENCH" build/genpki build/responder >&2 || die "cannot build genpki/responder"
[ "$R" -le "$N" ] || R=$N

bench_pki "$N"

OPORT=$(free_port)
say "ocspd --serve-ocsp 127.0.0.1:$OPORT: fetching $N staples"
"$OCSPD" -q --ca-file "$WORK/pki/root.pem" --serve-ocsp "127.0.0.1:$OPORT" "$certs" 2>"$WORK/ocspd.log" &
OCSPD_PID=$!
track "$OCSPD_PID"
WAIT=300 wait_for eval '[ "$(find "$certs" -name "*.pem.ocsp" -size +0 | wc -l)" = "$N" ]' ||
	die "ocspd did not staple $N certificates: $(tail -3 "$WORK/ocspd.log")"

SPORT=$(free_port)
# -multi: one process per core, as fair as it gets on this machine; also, a
# single openssl 3.0 responder spins forever on a connection closed before
# its request (wrk opens and closes one such probe first); -timeout lets a
# child give such a connection up.
openssl ocsp -index "$WORK/pki/index.txt" -port "$SPORT" -multi "$(nproc)" -timeout 2 -rsigner "$WORK/pki/ocsp-signer.pem" \
	-rkey "$WORK/pki/ocsp-signer.key" -CA "$WORK/pki/inter.pem" -ndays 1 >"$WORK/openssl.log" 2>&1 &
OPENSSL_PID=$!
# With -multi, openssl leads its own process group and its children outlive
# it: the whole group is killed at exit; disowned, so no "Killed" line.
track_group "$OPENSSL_PID"
disown "$OPENSSL_PID"
wait_for grep -q "^ACCEPT" "$WORK/openssl.log" || die "openssl ocsp did not start: $(tail -3 "$WORK/openssl.log")"

say "building $R GET paths"
: >"$WORK/paths"
for f in $(find "$certs" -name '*.pem' | sort | head -n "$R"); do
	openssl ocsp -issuer "$WORK/pki/inter.pem" -cert "$f" -no_nonce -reqout "$WORK/req.der" >/dev/null 2>&1 ||
		die "cannot make a request for $f"
	printf '/%s\n' "$(base64 -w0 "$WORK/req.der" | sed 's|+|%2B|g; s|/|%2F|g; s|=|%3D|g')" >>"$WORK/paths"
done
cat >"$WORK/paths.lua" <<'EOF'
-- Each thread asks for the paths in turn, starting at a different one.
local paths = {}
for line in io.lines(os.getenv("PATHS")) do paths[#paths + 1] = line end
local i = math.random(#paths)
request = function()
	i = i % #paths + 1
	return wrk.format("GET", paths[i])
end
EOF

# check PORT: one answer, verified end to end.
check() {
	local f
	f=$(find "$certs" -name '*.pem' | sort | head -1)
	openssl ocsp -url "http://127.0.0.1:$1/" -issuer "$WORK/pki/inter.pem" -cert "$f" \
		-CAfile "$WORK/pki/root.pem" -no_nonce 2>&1 | grep -c -e "^Response verify OK" -e ": good$"
}
# bench LABEL PORT: one wrk run; a row of the table.
ROWS=()
RPS=()
bench() {
	local out=$WORK/wrk-$1.txt rps p50 p99 errs non2xx
	[ "$(check "$2")" = 2 ] || die "$1: the answer does not verify as good"
	PATHS=$WORK/paths wrk -t "$THREADS" -c "$CONNS" -d "${DURATION}s" --latency -s "$WORK/paths.lua" \
		"http://127.0.0.1:$2" >"$out" 2>&1 || die "$1: wrk failed: $(tail -3 "$out")"
	rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
	p50=$(awk '$1 == "50%" { print $2 }' "$out")
	p99=$(awk '$1 == "99%" { print $2 }' "$out")
	errs=$(sed -n 's/^ *Socket errors: //p' "$out")
	non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: //p' "$out")
	RPS+=("${rps:-0}")
	ROWS+=("$(printf '%-34s %10s %8s %8s  %s' "$1" "$rps" "$p50" "$p99" \
		"${errs:+socket errors: $errs; }${non2xx:+non-2xx: $non2xx}")")
}
say "wrk against ocspd --serve-ocsp"
bench "ocspd --serve-ocsp (from cache)" "$OPORT"
cpu=$(awk -v t="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / t }' /proc/$OCSPD_PID/stat)
rss=$(awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' /proc/$OCSPD_PID/status)
say "wrk against openssl ocsp -index"
bench "openssl ocsp -index -multi $(nproc)" "$SPORT"

printf '\nLocal OCSP responder, %d certificates held, GET for %d of them in turn; wrk %d threads, %d keep-alive connections, %d s\n' \
	"$N" "$R" "$THREADS" "$CONNS" "$DURATION"
printf '%-34s %10s %8s %8s  %s\n' "server" "answers/s" "p50" "p99" "note"
for r in "${ROWS[@]}"; do printf '%s\n' "$r"; done
printf 'ocspd answers %.0fx as many per second; its peak RSS %s MB, %s CPU s in all (fetching included)\n' \
	"$(python3 -c "print(${RPS[0]} / max(${RPS[1]}, 1))")" "$rss" "$cpu"
