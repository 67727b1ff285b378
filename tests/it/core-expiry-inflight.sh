#!/bin/bash
# core-expiry-inflight: a staple expires while its renewal hangs (issue 12).
# A faultd answers good for 30 s (thisUpdate a minute ago): stapled, renewal
# due 13.5 to 15 s later (half the time left, the 10 s floor never reached;
# with 20 s the floor's jitter could put the renewal at the expiry itself,
# so that no fetch was in flight when it came); then a faultd that reads requests and never answers
# takes its port. ocspd runs with --timeout 120, so the renewal is still in
# flight when the staple's nextUpdate passes: the .ocsp is emptied then
# (error line, "a renewal is still in progress"), not when the attempt ends,
# and the hanging request has not failed yet.
. "$(dirname "$0")/../lib.sh"
setup

find_faultd
make_pki
PORT=$(free_port)
start_faultd "$PORT" -m good -v 30
site=$T/site
mkdir -p "$site"
"$FAULTD" leaf "$CA/inter.pem" "$CA/inter.key" "$CA/leaf.key" "$site/s.pem" "http://127.0.0.1:$PORT/" ||
	fail "leaf s"
start_ocspd "$T/d.log" -v --ca-file "$CA/root.pem" --timeout 120 "$site"
wait_log "$T/d.log" "s.pem: staple stored" || fail "not stapled"
check_staple "$site/s.pem"
next=$(openssl ocsp -respin "$site/s.pem.ocsp" -resp_text -noverify 2>/dev/null | sed -n 's/^ *Next Update: //p' | head -1)
stop_pid "$FAULTD_PID"
start_faultd "$PORT" -m hang
wait_for -t 40 grep -q "faultd: hang" "$T/faultd.log" || fail "the renewal never reached the hanging responder"
ok "renewal in flight to a responder that never answers (staple good until $next)"

# Bounded wait: the staple lives 30 s; the request may hang for 120.
empty() { [ "$(staple_status "$site/s.pem")" = empty ]; }
wait_for -t 30 empty || fail "s.pem.ocsp not emptied after its nextUpdate ($next): $(staple_status "$site/s.pem")"
[ "$(date -u +%s)" -ge "$(date -u -d "$next" +%s)" ] || fail "emptied before its nextUpdate ($next)"
grep -Eq "s.pem: staple expired with no fresh response; emptied so that no server staples it \(a renewal is still in progress\)" \
	"$T/d.log" || fail "no 'staple expired ... still in progress' line"
grep -Eq "s.pem: (renewal failed|no staple)" "$T/d.log" && fail "the renewal ended before the withdrawal"
kill -0 "$OCSPD_PID" 2>/dev/null || fail "ocspd died"
ok "emptied at its nextUpdate while the request still hangs"
stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "SIGTERM: exit $RC"
pass
