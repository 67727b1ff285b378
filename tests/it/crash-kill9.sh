#!/bin/bash
# crash-kill9: kill -9 the daemon at random moments of a renewal storm
# (200 leaves, --no-recycle so every start rewrites every staple), 5 times,
# each time once a random number of staples has been stored.
# After each kill every .ocsp is missing, empty or a complete response that
# verifies; at the end a one-off run exits 0 with every staple good.
. "$(dirname "$0")/../lib.sh"
setup
find_faultd
LEAVES=200 make_pki
# faultd answering "good" to everything: one process per connection, so 200
# requests at once never queue behind one another (openssl ocsp serves one
# connection at a time).
start_faultd "$RESP_PORT" -m good
OPTS="--ca-file $CA/root.pem --timeout 10 --connect-timeout 5"
D=$T/certs
mkdir -p "$D"
cp "$CERTS"/leaf*.pem "$CERTS"/good*.pem "$D/"
count=$(ls "$D"/*.pem | wc -l)

check_one() {	# prints "NAME:STATUS" unless CERT's staple is missing, empty or good
	local c s
	for c; do
		s=$(staple_status "$c")
		case $s in good | empty | missing) ;; *) echo "$(basename "$c"):$s" ;; esac
	done
}
export -f check_one staple_status
export CA
check_all() {	# check_all WHEN: every staple missing, empty or verifying good
	local bad
	bad=$(printf '%s\0' "$D"/*.pem | xargs -0 -P 2 -n 25 bash -c 'check_one "$@"' _)
	[ -z "$bad" ] || fail "$1: broken staples: $(echo $bad | head -c 400)"
}

for round in 1 2 3 4 5; do
	start_ocspd "$T/round$round.log" --no-recycle $OPTS "$D"
	# A random moment within the storm: once k staples are stored.
	k=$((RANDOM % (count - 10) + 5))
	wait_for -t 60 eval '[ "$(grep -c "staple stored" "$T/round$round.log")" -ge $k ]' ||
		fail "round $round: fewer than $k staples stored in 60 s"
	stored=$(count_log "$T/round$round.log" "staple stored")
	kill -KILL "$OCSPD_PID"
	wait "$OCSPD_PID" 2>/dev/null
	check_all "round $round"
	have=$(find "$D" -name '*.pem.ocsp' -size +0 | wc -l)
	tmp=$(find "$D" -name '*.ocspd-tmp.*' | wc -l)
	ok "round $round: killed after $stored stores; $have/$count staples, all complete ($tmp temp files)"
done

run_ocspd "$T/final.log" --one-off $OPTS "$D"
[ "$RC" = 0 ] || fail "one-off after the crashes exited $RC"
for c in "$D"/*.pem; do check_staple "$c"; done
tmp=$(find "$D" -name '*.ocspd-tmp.*' | wc -l)
ok "restart: one-off exit 0, $count good staples ($tmp temp files left from killed runs)"
pass
