# bench/lib.sh — what the bench scripts share; source it from bash after
# `cd "$(dirname "$0")"`, then call bench_init.
#
#   bench_init NAME             sets BENCH ROOT B (bench/build) OCSPD (../ocspd)
#                               WORK ($BENCH_WORK or bench/build/NAME; removed
#                               at exit unless BENCH_KEEP=1), sources
#                               tests/lib.sh (free_port, wait_for, track,
#                               track_group, start_redis, write_haproxy_cfg,
#                               ...) with its EXIT trap (kills what was
#                               tracked, removes WORK), defines die/say/fail
#                               prefixed with NAME
#   bench_pki N [genpki args...]
#                               a fresh WORK with N certificates (bench/genpki,
#                               in WORK/pki, AIA to 127.0.0.1:PORT) and
#                               bench/responder serving them on PORT (tracked);
#                               sets PORT and certs (WORK/pki/certs)
bench_init() {
	BENCH_NAME=$1
	BENCH=$PWD
	ROOT=$(cd .. && pwd)
	B=$BENCH/build
	WORK=${BENCH_WORK:-$BENCH/build/$BENCH_NAME}
	OCSPD=${OCSPD:-$ROOT/ocspd}
	. "$ROOT/tests/lib.sh"
	# tests/lib.sh's cleanup kills what track/track_group registered (the
	# helpers there register what they start) and removes T unless KEEP=1.
	T=$WORK
	KEEP=${BENCH_KEEP:-0}
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	# After tests/lib.sh, whose fail() its helpers report through.
	die() { echo "$BENCH_NAME: $*" >&2; exit 1; }
	say() { echo "$BENCH_NAME: $*" >&2; }
	fail() { die "$*"; }
}

bench_pki() {
	local n=$1
	shift
	rm -rf "$WORK"
	mkdir -p "$WORK"
	PORT=$(free_port)
	say "genpki: $n certificates"
	"$B/genpki" -n "$n" "$@" "$WORK/pki" "http://127.0.0.1:$PORT/" 2>"$WORK/genpki.log" || die "genpki failed"
	"$B/responder" -p "$PORT" "$WORK/pki" >"$WORK/responder.out" 2>"$WORK/responder.log" &
	track $!
	wait_for grep -q ready "$WORK/responder.out" || die "bench/responder did not start"
	certs=$WORK/pki/certs
}
