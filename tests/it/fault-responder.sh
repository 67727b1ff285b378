#!/bin/bash
# fault-responder: every way an OCSP responder can misbehave (tests/faultd.c).
# One leaf per fault, its AIA URL naming the fault (http://127.0.0.1:P/<mode>).
#  A. --one-off per leaf, from nothing: exit 1 for a fault (0 for the
#     acceptable ones), a log line "<cert>: <url>: <reason>", no staple.
#  B. good staples first (faultd -m good), then --one-off --no-recycle against
#     the faults: every good staple byte-for-byte unchanged (also against a
#     good one expiring sooner), except revoked: emptied; no temp files.
#  C. daemon mode against the faults: keeps running, logs "retry in", staples
#     unchanged, exits 0 on SIGTERM.
#  D. a request hanging on a responder does not hold up the others to it.
. "$(dirname "$0")/../lib.sh"
setup

find_faultd
make_pki http://127.0.0.1:1/
FPORT=$(free_port)
DEAD=$(free_port)	# nothing listens there: connection refused
BASE=http://127.0.0.1:$FPORT
D=$T/certs
mkdir -p "$D"
OPTS="--ca-file $CA/root.pem --timeout 3 --connect-timeout 2"

# mode | expected one-off exit | reason (grep -Ei) | URLs (default: BASE/mode)
CASES=$(cat <<EOF
http500|1|500
http404|1|404
redirect|1|30[0-9]|redirect
html|1|not a DER|content.type|html|parse
empty|1|empty
garbage|1|not a DER|parse|decode
truncated|1|not a DER|truncat|length|parse
huge|1|too (big|large|long)|larger|limit|exceed|64 ?KiB|maximum
slow|1|time(d)? ?out
hang|1|time(d)? ?out
reset|1|reset|recv|receiv|connection
close|1|empty|closed|nothing|server|receiv
trylater|1|trylater|try later
internalerror|1|internalerror|internal error
unauthorized|1|unauthorized
malformed|1|malformed
sigrequired|1|sigrequired|sig required
unrelated|1|signer|signed|signature|issu|responder|trust
noeku|1|OCSPSigning|EKU|usage
expired|1|expired|not valid
badsig|1|signature
wrongserial|1|CertID|cover|match
wrongissuer|1|CertID|cover|match|signer
revoked|1|revoked
unknown|1|unknown
future|1|future|not yet
stale|1|expired|past|stale|nextUpdate
nonext-old|1|older|default-validity|expired
refused|1|refused|connect|couldn|$(printf 'http://127.0.0.1:%s/' "$DEAD")
unresolvable|1|resolve|host|time(d)? ?out|http://nonexistent.invalid/
good|0|
good-ca|0|
short|0|
nonext|0|
multi|0|
skew|0|
fallback|0|500|$BASE/http500 $BASE/good
EOF
)

# The last field is a URL list when it starts with http.
case_urls() {	# case_urls MODE REST -> URLs
	local mode=$1 rest=$2 last=${2##*|}
	case $last in http*) echo "$last" ;; *) echo "$BASE/$mode" ;; esac
}
case_reason() {	# REST without the URL list
	local rest=$1
	case ${rest##*|} in http*) rest=${rest%|*} ;; esac
	echo "$rest"
}

# Leaves.
while IFS='|' read -r mode code rest; do
	# shellcheck disable=SC2046
	"$FAULTD" leaf "$CA/inter.pem" "$CA/inter.key" "$CA/leaf.key" "$D/$mode.pem" \
		$(case_urls "$mode" "$rest") || fail "faultd leaf $mode"
done <<<"$CASES"

stop_faultd() { stop_pid "$FAULTD_PID"; }

errors=""
bad() { echo "not ok - $*"; errors="$errors
  $*"; }

# run_each PHASE ARGS...: one "ocspd --one-off ARGS <leaf>" per case, all at
# once (each its own process, so slow faults do not hold up the others);
# logs in $T/PHASE-<mode>.log, exit codes in $T/PHASE-<mode>.rc.
run_each() {
	local phase=$1 p n pids=""
	shift
	while IFS='|' read -r mode code rest; do
		( "$OCSPD" --one-off "$@" "$D/$mode.pem" >"$T/$phase-$mode.log" 2>&1
		  echo $? >"$T/$phase-$mode.rc" ) &
		pids="$pids $!"
	done <<<"$CASES"
	track $pids
	for p in $pids; do
		n=0
		while kill -0 "$p" 2>/dev/null; do
			n=$((n + 1))
			[ $n -lt 1200 ] || fail "$phase: one-off runs still going after 120 s"
			sleep 0.1
		done
	done
}

# check_run PHASE MODE CODE REST: the run finished cleanly with exit CODE and
# logged "<cert>: <url>: <reason>" for each failing URL. 1 (and bad) if not.
check_run() {
	local phase=$1 mode=$2 code=$3 rest=$4 cert=$D/$2.pem log=$T/$1-$2.log rc reason url line why
	rc=$(cat "$T/$phase-$mode.rc")
	reason=$(case_reason "$rest")
	if grep -Eq "runtime error:|ERROR: [A-Za-z]+Sanitizer" "$log"; then
		bad "$phase $mode: sanitizer report: $(grep -E -m1 "runtime error:|Sanitizer" "$log")"
		return 1
	fi
	grep -q "one-off: " "$log" || { bad "$phase $mode: one-off did not finish (exit $rc)"; return 1; }
	[ "$rc" = "$code" ] || [ "$phase" = b ] || { bad "$phase $mode: one-off exit $rc, expected $code"; return 1; }
	[ -n "$reason" ] || return 0
	for url in $(case_urls "$mode" "$rest"); do
		# "<cert>: <url>: <reason>", or for revoked "<cert>: certificate revoked (... <url>)"
		line=$(grep -F -- "$cert: " "$log" | grep -F -- "$url" | head -1)
		[ -n "$line" ] || { bad "$phase $mode: no log line naming $cert and $url"; return 1; }
		# The reason alone: neither the path nor the URL (which name the fault).
		why=${line#*"$cert: "}
		why=${why//"$url"/}
		echo "$why" | grep -Eqi -- "$reason" ||
			{ bad "$phase $mode: log line does not give the reason /$reason/: $line"; return 1; }
		[ "$code" = 1 ] || break	# acceptable case: only the first URL fails
	done
	return 0
}

# ---- A: each fault from nothing.
start_faultd "$FPORT"
run_each a $OPTS
while IFS='|' read -r mode code rest; do
	check_run a "$mode" "$code" "$rest" || continue
	if [ "$code" = 1 ]; then
		[ "$(staple_status "$D/$mode.pem")" = missing ] || [ "$(staple_status "$D/$mode.pem")" = empty ] ||
			{ bad "a $mode: staple is $(staple_status "$D/$mode.pem"), expected none"; continue; }
	else
		[ "$(staple_status "$D/$mode.pem")" = good ] ||
			{ bad "a $mode: staple is $(staple_status "$D/$mode.pem"), expected good"; continue; }
	fi
	ok "A $mode: exit $code, $(grep -c "" "$T/a-$mode.log") log lines"
done <<<"$CASES"
grep -l "faultd: huge" "$T/faultd.log" >/dev/null || bad "faultd saw no request for huge"
# A 10 MB body must not be read: the daemon stops at its 64 KiB cap.
no_temp_files A "$D"
stop_faultd

# ---- B: good staples first, then the faults must not replace them.
start_faultd "$FPORT" -m good
# refused/unresolvable point elsewhere: give them a good staple by hand.
for mode in refused unresolvable; do
	openssl ocsp -issuer "$CA/inter.pem" -cert "$D/$mode.pem" -no_nonce -url "$BASE/good" \
		-respout "$D/$mode.pem.ocsp" -noverify >/dev/null 2>&1 || fail "B: seeding $mode"
done
run_ocspd "$T/b1.log" --one-off $OPTS "$D"
[ "$RC" = 0 ] || fail "B: one-off against a good responder exited $RC"
mkdir -p "$T/saved"
while IFS='|' read -r mode code rest; do
	check_staple "$D/$mode.pem"
	cp "$D/$mode.pem.ocsp" "$T/saved/$mode.ocsp"
done <<<"$CASES"
stop_faultd
ok "B: good staples for every leaf"

start_faultd "$FPORT"
run_each b --no-recycle $OPTS
while IFS='|' read -r mode code rest; do
	cert=$D/$mode.pem
	check_run b "$mode" "$code" "$rest" || continue
	if [ "$mode" = revoked ]; then
		# A good staple of a revoked certificate is withdrawn (emptied).
		[ -e "$cert.ocsp" ] && [ ! -s "$cert.ocsp" ] ||
			{ bad "revoked: staple is $(staple_status "$cert"), expected withdrawn (empty)"; continue; }
	elif [ "$code" = 1 ] || [ "$mode" = short ]; then
		# A fault, or a good staple expiring earlier than the one we hold.
		cmp -s "$cert.ocsp" "$T/saved/$mode.ocsp" ||
			{ bad "$mode: good staple replaced (now $(staple_status "$cert"))"; continue; }
	else
		[ "$(staple_status "$cert")" = good ] ||
			{ bad "$mode: staple is $(staple_status "$cert") after a good answer"; continue; }
	fi
	ok "B $mode: staple kept (one-off exit $(cat "$T/b-$mode.rc"))"
done <<<"$CASES"
no_temp_files B "$D"

# ---- C: daemon mode keeps going and says when it retries.
start_ocspd "$T/c.log" --no-recycle $OPTS "$D"
for mode in http500 trylater badsig wrongserial hang; do
	wait_log "$T/c.log" "$D/$mode.pem: (no staple|renewal failed).*retry in" ||
		bad "C $mode: no 'retry in' line"
done
kill -0 "$OCSPD_PID" 2>/dev/null || fail "C: the daemon died"
while IFS='|' read -r mode code rest; do
	[ "$code" = 1 ] && [ "$mode" != revoked ] || continue
	cmp -s "$D/$mode.pem.ocsp" "$T/saved/$mode.ocsp" || bad "C $mode: good staple replaced"
done <<<"$CASES"
stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || bad "C: daemon exited $RC on SIGTERM"
no_temp_files C "$D"
ok "C: daemon kept running, retried, kept staples, exited $RC"

# ---- D: a hung request must not hold up other requests to the same responder.
# hang.pem's request is in flight (faultd saw it) before 8 good leaves on the
# same host:port arrive; they must be stapled before hang.pem times out.
S=$T/shared
mkdir -p "$S" "$T/stage"
cp "$D/hang.pem" "$S/"
for i in 1 2 3 4 5 6 7 8; do
	"$FAULTD" leaf "$CA/inter.pem" "$CA/inter.key" "$CA/leaf.key" "$T/stage/ok$i.pem" "$BASE/good" ||
		fail "faultd leaf ok$i"
done
hangs=$(grep -c "faultd: hang" "$T/faultd.log")
start_ocspd "$T/d.log" --ca-file "$CA/root.pem" --timeout 15 --connect-timeout 2 "$S"
wait_for eval '[ "$(grep -c "faultd: hang" "$T/faultd.log")" -gt "$hangs" ]' || fail "D: hang.pem never asked"
mv "$T/stage/"*.pem "$S/"
WAIT=90 wait_for eval '[ "$(grep -c "ok[0-9].pem: staple stored" "$T/d.log")" -ge 8 ]' ||
	fail "D: the 8 good leaves were not all stapled"
last_ok=$(grep -n "ok[0-9].pem: staple stored" "$T/d.log" | tail -1 | cut -d: -f1)
hang_to=$(grep -n "hang.pem: .*timed out" "$T/d.log" | head -1 | cut -d: -f1)
if [ -n "$hang_to" ] && [ "$hang_to" -lt "$last_ok" ]; then
	bad "D: good leaves were stapled only after the hung request to the same responder timed out: $(sed -n "${hang_to}p" "$T/d.log" | cut -c1-24) timeout, $(sed -n "${last_ok}p" "$T/d.log" | cut -c1-24) last good staple"
else
	ok "D: a hung request did not hold up 8 others to the same responder"
fi
stop_pid "$OCSPD_PID"

[ -z "$errors" ] || fail "$(echo "$errors" | grep -c .) fault case(s) failed:$errors"
pass "$(echo "$CASES" | wc -l) responder faults"
