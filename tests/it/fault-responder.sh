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
. "$(dirname "$0")/../lib.sh"
setup

FAULTD=$ROOT/build/tests/faultd
if [ ! -x "$FAULTD" ]; then
	FAULTD=$T/faultd
	cc -D_GNU_SOURCE -std=c11 -O1 -o "$FAULTD" "$ROOT/tests/faultd.c" -lssl -lcrypto ||
		fail "cannot build tests/faultd.c"
fi

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

start_faultd() {	# start_faultd [-m MODE]
	"$FAULTD" serve -c "$CA/inter.pem" -k "$CA/inter.key" -s "$CA/ocsp.pem" -K "$CA/ocsp.key" \
		-p "$FPORT" "$@" >/dev/null 2>>"$T/faultd.log" &
	FAULTD_PID=$!
	track $FAULTD_PID
	wait_for bash -c "exec 3<>/dev/tcp/127.0.0.1/$FPORT" 2>/dev/null ||
		fail "faultd did not listen on $FPORT"
}
stop_faultd() { stop_pid "$FAULTD_PID"; }

no_temp_files() {
	local left
	left=$(find "$D" -name '*.ocspd-tmp.*' | head -5)
	[ -z "$left" ] || fail "$1: temporary files left: $left"
}

errors=""
bad() { echo "not ok - $*"; errors="$errors
  $*"; }

# ---- A: each fault from nothing, one --one-off per leaf, all at once.
start_faultd
pids=""
while IFS='|' read -r mode code rest; do
	( "$OCSPD" --one-off $OPTS "$D/$mode.pem" >"$T/a-$mode.log" 2>&1; echo $? >"$T/a-$mode.rc" ) &
	pids="$pids $!"
done <<<"$CASES"
track $pids
for p in $pids; do
	n=0
	while kill -0 "$p" 2>/dev/null; do
		n=$((n + 1))
		[ $n -lt 1200 ] || fail "one-off runs still going after 120 s"
		sleep 0.1
	done
done
while IFS='|' read -r mode code rest; do
	cert=$D/$mode.pem
	rc=$(cat "$T/a-$mode.rc")
	reason=$(case_reason "$rest")
	if grep -Eq "runtime error:|ERROR: [A-Za-z]+Sanitizer" "$T/a-$mode.log"; then
		bad "$mode: sanitizer report: $(grep -E -m1 "runtime error:|Sanitizer" "$T/a-$mode.log")"
		continue
	fi
	grep -q "one-off: " "$T/a-$mode.log" || { bad "$mode: one-off did not finish (exit $rc)"; continue; }
	[ "$rc" = "$code" ] || { bad "$mode: one-off exit $rc, expected $code"; continue; }
	if [ "$code" = 1 ]; then
		no_staple "$cert"
		for url in $(case_urls "$mode" "$rest"); do
			# "<cert>: <url>: <reason>", or for revoked "<cert>: certificate revoked (... <url>)"
			line=$(grep -F -- "$cert: " "$T/a-$mode.log" | grep -F -- "$url" | head -1)
			[ -n "$line" ] || { bad "$mode: no log line naming $cert and $url"; continue 2; }
			# The reason alone: neither the path nor the URL (which name the fault).
			why=${line#*"$cert: "}
			why=${why//"$url"/}
			echo "$why" | grep -Eqi -- "$reason" ||
				{ bad "$mode: log line does not give the reason /$reason/: $line"; continue 2; }
		done
	else
		[ "$(staple_status "$cert")" = good ] ||
			{ bad "$mode: staple is $(staple_status "$cert"), expected good"; continue; }
		if [ -n "$reason" ]; then
			url=${rest##*|}
			url=${url%% *}
			grep -F -- "$cert: $url: " "$T/a-$mode.log" | sed "s|.*$url: ||" | grep -Eqi -- "$reason" ||
				{ bad "$mode: no log line for the failing first URL $url"; continue; }
		fi
	fi
	ok "A $mode: exit $rc${reason:+, reason logged}"
done <<<"$CASES"
grep -l "faultd: huge" "$T/faultd.log" >/dev/null || bad "faultd saw no request for huge"
# A 10 MB body must not be read: the daemon stops at its 64 KiB cap.
no_temp_files A
stop_faultd

# ---- B: good staples first, then the faults must not replace them.
start_faultd -m good
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

start_faultd
run_ocspd "$T/b2.log" --one-off --no-recycle $OPTS "$D"
echo "B: one-off --no-recycle against the faults exited $RC"
grep -q "one-off: " "$T/b2.log" || fail "B: one-off did not finish (exit $RC)"
while IFS='|' read -r mode code rest; do
	cert=$D/$mode.pem
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
	[ "$code" = 0 ] || grep -Fq -- "$cert: " "$T/b2.log" ||
		{ bad "$mode: nothing logged for $cert"; continue; }
	ok "B $mode: staple kept"
done <<<"$CASES"
no_temp_files B

# ---- C: daemon mode keeps going and says when it retries.
start_ocspd "$T/c.log" --no-recycle $OPTS "$D"
for mode in http500 trylater badsig wrongserial hang; do
	wait_log "$T/c.log" "$D/$mode.pem: no staple.*retry in" ||
		bad "C $mode: no 'retry in' line"
done
kill -0 "$OCSPD_PID" 2>/dev/null || fail "C: the daemon died"
while IFS='|' read -r mode code rest; do
	[ "$code" = 1 ] && [ "$mode" != revoked ] || continue
	cmp -s "$D/$mode.pem.ocsp" "$T/saved/$mode.ocsp" || bad "C $mode: good staple replaced"
done <<<"$CASES"
stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || bad "C: daemon exited $RC on SIGTERM"
no_temp_files C
ok "C: daemon kept running, retried, kept staples, exited $RC"

[ -z "$errors" ] || fail "$(echo "$errors" | grep -c .) fault case(s) failed:$errors"
pass "$(echo "$CASES" | wc -l) responder faults"
