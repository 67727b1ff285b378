#!/bin/bash
# trust-resp-forever: a responder whose answers say nextUpdate = year 9999 is
# asked again within --maximum-interval, so that a revocation is seen
# (issue 11.4); the option's range is checked at start.
#  1. --maximum-interval 15: faultd "forever" sees a second request within
#     60 s (the old code planned the next one for the year ~5000), each
#     answer stored; then the responder says revoked and the staple is
#     withdrawn at the next ask.
#  2. --maximum-interval 5 / 31536001 / "maximum-interval = 9" in the config
#     file: exit 2 naming the option and its range.
. "$(dirname "$0")/../lib.sh"
setup

find_faultd
make_pki http://127.0.0.1:1/
FPORT=$(free_port)
start_faultd "$FPORT"
site=$T/site
mkdir -p "$site"
"$FAULTD" leaf "$CA/inter.pem" "$CA/inter.key" "$CA/leaf.key" "$site/forever.pem" \
	"http://127.0.0.1:$FPORT/forever" || fail "faultd leaf"
requests() { count_log "$T/faultd.log" "^faultd: $1 "; }

# ---- 1
start_ocspd "$T/d.log" --ca-file "$CA/root.pem" --maximum-interval 15 "$site"
wait_log "$T/d.log" "forever.pem: staple stored \(good, next update 9999-12-31" ||
	fail "no staple for forever.pem"
check_staple "$site/forever.pem"
WAIT=60 wait_for eval '[ "$(requests forever)" -ge 2 ]' ||
	fail "the year-9999 answer was not asked for again within --maximum-interval ($(requests forever) requests)"
ok "year-9999 answer asked for again: $(requests forever) requests, $(count_log "$T/d.log" "forever.pem: staple stored") stores"
# The same certificate is revoked now: the next ask sees it.
stop_pid "$FAULTD_PID"
start_faultd "$FPORT" -m revoked
WAIT=60 wait_log "$T/d.log" "forever.pem: certificate revoked" ||
	fail "the revocation was not seen within --maximum-interval"
wait_for eval '[ -e "$site/forever.pem.ocsp" ] && [ ! -s "$site/forever.pem.ocsp" ]' ||
	fail "the staple of the revoked certificate was not withdrawn ($(staple_status "$site/forever.pem"))"
stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "SIGTERM: exit $RC"
ok "revocation seen within --maximum-interval, staple withdrawn"

# ---- 2
for v in 5 31536001 0 -1 soon; do
	run_ocspd "$T/bad-$v.log" --one-off --ca-file "$CA/root.pem" --maximum-interval "$v" "$site"
	[ "$RC" = 2 ] || fail "--maximum-interval $v: exit $RC, expected 2"
	grep -q "maximum-interval" "$T/bad-$v.log" || fail "--maximum-interval $v: message does not name the option"
done
grep -q "10 to 31536000" "$T/bad-5.log" || fail "--maximum-interval 5: range not given: $(cat "$T/bad-5.log")"
printf 'maximum-interval = 9\n' >"$T/bad.conf"
run_ocspd "$T/badconf.log" -c "$T/bad.conf" --one-off --ca-file "$CA/root.pem" "$site"
[ "$RC" = 2 ] || fail "maximum-interval = 9 in the config file: exit $RC, expected 2"
printf 'maximum-interval = 10\n' >"$T/ok.conf"
run_ocspd "$T/okconf.log" -c "$T/ok.conf" --one-off --ca-file "$CA/root.pem" "$site"
[ "$RC" != 2 ] || fail "maximum-interval = 10 refused: $(cat "$T/okconf.log")"
ok "out-of-range maximum-interval refused with exit 2 ($(head -1 "$T/bad-5.log"))"
pass
