#!/bin/bash
# bench/haproxy-push.sh — how fast ocspd hands staples to one HAProxy (issue 4).
#
# Makes N certificates (bench/genpki, one shared key), has ocspd fetch a staple
# for each from bench/responder (--one-off; HAProxy must find a .ocsp file at
# load time for "set ssl ocsp-response" to be accepted), starts one HAProxy
# 2.6 serving all N, then pushes all N staples through src/haproxy.c twice:
#   pipelined   every command written back to back, answers matched in order
#   serial      one command per round trip (haproxy-push -s), the way a
#               "socat per staple" script or a naive client would do it
# and prints seconds, staples/s and the ratio. Every answer is checked: a
# run with any error line fails.
#
# Knobs: N (10000), BENCH_WORK (bench/build/haproxy-push; removed unless
# BENCH_KEEP=1), OCSPD (../ocspd).
set -u
cd "$(dirname "$0")" || exit 1
# bench_init, bench_pki; tests/lib.sh's free_port, write_haproxy_cfg,
# start_haproxy (which tracks haproxy).
. ./lib.sh
bench_init haproxy-push
N=${N:-10000}

make -s -C "$ROOT" ocspd >&2 || die "cannot build ocspd"
make -s -C "$BENCH" build/genpki build/responder >&2 || die "cannot build genpki/responder"
cc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Wshadow -iquote "$ROOT/src" \
	-o "$B/haproxy-push-client" haproxy-push.c "$ROOT/build/haproxy.o" "$ROOT/build/haproxy-cfg.o" \
	"$ROOT/build/strlist.o" "$ROOT/build/fsroot.o" "$ROOT/build/log.o" "$ROOT/build/metrics.o" \
	-lev -lssl -lcrypto || die "cannot build haproxy-push"

bench_pki "$N"

say "ocspd --one-off: fetching $N staples"
t0=$(date +%s.%N)
"$OCSPD" --one-off -q --ca-file "$WORK/pki/root.pem" "$certs" 2>"$WORK/ocspd.log" ||
	die "ocspd --one-off failed: $(tail -3 "$WORK/ocspd.log")"
t1=$(date +%s.%N)
have=$(find "$certs" -name '*.pem.ocsp' -size +0 | wc -l)
[ "$have" = "$N" ] || die "only $have of $N staples on disk"

sock=$WORK/admin.sock
hport=$(free_port)
write_haproxy_cfg "$WORK/haproxy.cfg" "$sock" "$hport" "$certs" "tune.ssl.cachesize 1000"
say "haproxy: loading $N certificates"
t2=$(date +%s.%N)
WAIT=600 start_haproxy "$WORK/haproxy.cfg"
HPID=$HAPROXY_PID
t3=$(date +%s.%N)
rss=$(awk '/VmRSS/ { print int($2 / 1024) }' /proc/$HPID/status)

run() {	# LABEL [-s]: one push run; sets SECS
	local label=$1 out errs
	shift
	out=$("$B/haproxy-push-client" "$@" "$certs" "$sock" 2>"$WORK/push-$label.log") ||
		die "$label: $(tail -3 "$WORK/push-$label.log")"
	errs=$(grep -c "error" "$WORK/push-$label.log")
	[ "$errs" = 0 ] || die "$label: $errs errors, e.g. $(grep -m1 error "$WORK/push-$label.log")"
	SECS=$(printf '%s\n' "$out" | sed -n 's/.* in \([0-9.]*\) s.*/\1/p')
	printf '%s\n' "$out" | grep -q "^pushed $N staples" || die "$label: $out"
}
run pipelined
P=$SECS
run serial -s
S=$SECS
run pipelined2
P2=$SECS

# What a client gets afterwards: one certificate, checked end to end.
echo | openssl s_client -connect "127.0.0.1:$hport" -servername leaf00001.bench -status 2>/dev/null |
	grep -q "Cert Status: good" || say "warning: s_client did not see a good staple for leaf00001 (SNI name may differ)"

calc() { python3 -c "print($1)"; }
printf '\nHAProxy staple push, %d certificates, one HAProxy 2.6 (RSS %s MiB after loading)\n' "$N" "$rss"
printf '%-34s %10s %12s\n' "step" "seconds" "staples/s"
printf '%-34s %10.2f %12.0f\n' "ocspd --one-off (fetch+verify+store)" "$(calc "$t1 - $t0")" "$(calc "$N / ($t1 - $t0)")"
printf '%-34s %10.2f %12s\n' "haproxy start with $N certs" "$(calc "$t3 - $t2")" "-"
printf '%-34s %10.3f %12.0f\n' "push, serial (1 cmd / round trip)" "$S" "$(calc "$N / $S")"
printf '%-34s %10.3f %12.0f\n' "push, pipelined" "$P" "$(calc "$N / $P")"
printf '%-34s %10.3f %12.0f\n' "push, pipelined (again)" "$P2" "$(calc "$N / $P2")"
printf 'pipelined is %.1fx faster than serial\n' "$(calc "$S / min($P, $P2)")"
