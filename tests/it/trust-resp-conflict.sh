#!/bin/bash
# trust-resp-conflict: a response with a good and a revoked SingleResponse for
# the requested CertID (faultd "conflict") is refused with its own error
# (issue 11.4); one whose only entry for the CertID says revoked, beside good
# entries for other certificates (faultd "revoked-multi"), is taken as
# revoked, never as good.
#  1. --one-off from nothing: exit 1, "<cert>: <url>: conflicting
#     SingleResponses ...", no staple written.
#  2. good staples first, then --one-off --no-recycle against the same
#     leaves: the conflicting answer leaves the good staple byte for byte
#     (the old code replaced it and exited 0); the revoked one empties it.
#  3. daemon mode: the conflict is a failed renewal with a retry, the staple
#     stays.
#  4. a responder sending 1 MB of response headers: refused after 32 KiB
#     (faultd "bighead"), exit 1 with the reason, no staple.
. "$(dirname "$0")/../lib.sh"
setup

find_faultd
make_pki http://127.0.0.1:1/
FPORT=$(free_port)
BASE=http://127.0.0.1:$FPORT
site=$T/site
mkdir -p "$site"
for m in conflict revoked-multi bighead; do
	"$FAULTD" leaf "$CA/inter.pem" "$CA/inter.key" "$CA/leaf.key" "$site/$m.pem" "$BASE/$m" ||
		fail "faultd leaf $m"
done
OPTS="--ca-file $CA/root.pem --timeout 5"

# ---- 1. from nothing
start_faultd "$FPORT"
for m in conflict revoked-multi bighead; do
	run_ocspd "$T/a-$m.log" --one-off $OPTS "$site/$m.pem"
	[ "$RC" = 1 ] || fail "$m: one-off exit $RC, expected 1"
	no_staple "$site/$m.pem"
done
grep -qF "$site/conflict.pem: $BASE/conflict: conflicting SingleResponses for the certificate (good and revoked)" \
	"$T/a-conflict.log" || fail "conflict: no error line with the reason: $(grep conflict.pem "$T/a-conflict.log")"
grep -q "revoked-multi.pem: certificate revoked" "$T/a-revoked-multi.log" ||
	fail "revoked-multi: not reported as revoked: $(cat "$T/a-revoked-multi.log")"
grep -qF "$site/bighead.pem: $BASE/bighead: response headers larger than 32768 bytes" "$T/a-bighead.log" ||
	fail "bighead: no error line with the reason: $(grep bighead.pem "$T/a-bighead.log")"
ok "from nothing: conflict refused with its reason, revoked-multi taken as revoked, 1 MB of headers refused; no staple"
stop_pid "$FAULTD_PID"

# ---- 2. over good staples
start_faultd "$FPORT" -m good
run_ocspd "$T/b1.log" --one-off $OPTS "$site"
[ "$RC" = 0 ] || fail "one-off against a good responder: exit $RC"
mkdir -p "$T/saved"
rm -f "$site/bighead.pem"
for m in conflict revoked-multi; do
	check_staple "$site/$m.pem"
	cp "$site/$m.pem.ocsp" "$T/saved/"
done
stop_pid "$FAULTD_PID"
start_faultd "$FPORT"
run_ocspd "$T/b2.log" --one-off --no-recycle $OPTS "$site"
[ "$RC" = 1 ] || fail "one-off --no-recycle against the faults: exit $RC, expected 1"
cmp -s "$site/conflict.pem.ocsp" "$T/saved/conflict.pem.ocsp" ||
	fail "conflict: the good staple was replaced (now $(staple_status "$site/conflict.pem"))"
grep -q "conflict.pem: renewal failed (conflicting SingleResponses" "$T/b2.log" ||
	fail "conflict: no 'renewal failed' line: $(grep conflict.pem "$T/b2.log")"
[ -e "$site/revoked-multi.pem.ocsp" ] && [ ! -s "$site/revoked-multi.pem.ocsp" ] ||
	fail "revoked-multi: staple is $(staple_status "$site/revoked-multi.pem"), expected withdrawn (empty)"
ok "over good staples: conflict keeps the good one, revoked-multi withdraws it"

# ---- 3. daemon mode
cp "$T/saved/revoked-multi.pem.ocsp" "$site/"
start_ocspd "$T/c.log" --no-recycle $OPTS "$site"
wait_log "$T/c.log" "conflict.pem: renewal failed \(conflicting SingleResponses.*retry in" ||
	fail "daemon: no retry line for conflict.pem"
kill -0 "$OCSPD_PID" 2>/dev/null || fail "daemon died"
cmp -s "$site/conflict.pem.ocsp" "$T/saved/conflict.pem.ocsp" || fail "daemon: the good staple was replaced"
stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "SIGTERM: exit $RC"
no_temp_files end "$site"
ok "daemon: conflict is a failed renewal with a retry; staple kept"
pass
