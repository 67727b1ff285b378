#!/bin/bash
# trust-resp-aged: a responder that serves the same pre-signed response, its
# midpoint already past (faultd "aged": thisUpdate 5 days ago, nextUpdate in
# 2 days, Cache-Control max-age), is not asked again in a loop (issue 11.4).
#  1. daemon mode for 45 s: faultd sees at most 2 requests for it (the old
#     code asked every 10-20 s), the hook runs once for it, its .ocsp is
#     written once (mtime and inode unchanged); the responder's max-age is
#     read. Meanwhile a certificate of a real `openssl ocsp` responder with
#     1-minute responses is renewed at its midpoint as before (stored again
#     within the 45 s).
#  2. restarted with --no-recycle: the responder sends the bytes already on
#     disk; the file is not rewritten and the hook does not run.
. "$(dirname "$0")/../lib.sh"
setup

find_faultd
make_pki
start_responder "$PKI" "$RESP_PORT" -nmin 1
FPORT=$(free_port)
start_faultd "$FPORT"
site=$T/site
mkdir -p "$site"
cp "$CERTS/good1.pem" "$site/"
"$FAULTD" leaf "$CA/inter.pem" "$CA/inter.key" "$CA/leaf.key" "$site/aged.pem" \
	"http://127.0.0.1:$FPORT/aged" || fail "faultd leaf"

cat >"$T/hook.sh" <<'EOF'
#!/bin/sh
d=$(dirname "$0")
n=$(($(ls "$d"/hookrun.* 2>/dev/null | wc -l) + 1))
cat >"$d/hookrun.$n"
EOF
chmod +x "$T/hook.sh"
aged_runs() { cat "$T"/hookrun.* 2>/dev/null | grep -cxF "$site/aged.pem"; }
aged_requests() { count_log "$T/faultd.log" "^faultd: aged "; }
file_id() { stat -c '%i %y' "$1"; }

# ---- 1. daemon mode
start_ocspd "$T/d.log" -v --ca-file "$CA/root.pem" --hook "$T/hook.sh" "$site"
wait_log "$T/d.log" "aged.pem: staple stored" || fail "no staple for aged.pem"
t0=$(date +%s)
check_staple "$site/aged.pem"
id0=$(file_id "$site/aged.pem.ocsp")
wait_for eval '[ "$(aged_runs)" -ge 1 ]' || fail "the hook did not run for the first aged staple"
# The control: 1-minute responses from openssl ocsp, renewed at ~30 s.
WAIT=90 wait_for eval '[ "$(count_log "$T/d.log" "good1.pem: staple stored")" -ge 2 ]' ||
	fail "good1.pem (1-minute responses) was not renewed at its midpoint"
ok "1-minute responses of openssl ocsp renewed at the midpoint ($(count_log "$T/d.log" "good1.pem: staple stored") stores)"
while [ $(($(date +%s) - t0)) -lt 45 ]; do sleep 1; done
kill -0 "$OCSPD_PID" 2>/dev/null || fail "ocspd died"
n=$(aged_requests)
[ "$n" -le 2 ] || fail "the aged responder was asked $n times in 45 s (a fetch loop)"
[ "$(aged_runs)" = 1 ] || fail "the hook ran $(aged_runs) times for aged.pem in 45 s"
[ "$(file_id "$site/aged.pem.ocsp")" = "$id0" ] || fail "aged.pem.ocsp was rewritten"
[ "$(count_log "$T/d.log" "aged.pem: staple stored")" = 1 ] || fail "aged.pem stored more than once"
wait_log "$T/d.log" "aged.pem: .*HTTP cache headers say fresh" ||
	fail "the responder's Cache-Control max-age was not read"
next=$(grep "aged.pem: staple stored" "$T/d.log" | sed -n 's/.*renew at \([^)]*\)).*/\1/p')
ok "aged response: $n request(s) in 45 s, one store, one hook run, renew at $next"
stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "SIGTERM: exit $RC"

# ---- 2. the same bytes again: not rewritten, no hook
before=$(aged_requests)
runs_before=$(ls "$T"/hookrun.* | wc -l)
start_ocspd "$T/d2.log" -v --no-recycle --ca-file "$CA/root.pem" --hook "$T/hook.sh" "$site"
wait_log "$T/d2.log" "aged.pem: responder sent the staple already held; not rewritten" ||
	fail "restart with --no-recycle: identical response not recognised"
[ "$(aged_requests)" -gt "$before" ] || fail "restart with --no-recycle did not ask the responder"
# good1 gets new bytes (and a hook run); wait for that run, then one debounce more.
wait_for eval '[ "$(ls "$T"/hookrun.* | wc -l)" -gt "$runs_before" ]' || fail "no hook run for good1.pem"
sleep 2
[ "$(aged_runs)" = 1 ] || fail "the hook ran again for aged.pem although its staple did not change"
[ "$(file_id "$site/aged.pem.ocsp")" = "$id0" ] || fail "aged.pem.ocsp rewritten with identical bytes"
check_staple "$site/aged.pem"
stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "SIGTERM: exit $RC"
no_temp_files "end" "$site"
ok "identical response: file not rewritten, hook not run"
pass
