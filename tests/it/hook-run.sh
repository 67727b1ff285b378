#!/bin/bash
# hook-run: --hook and --alert-hook (issue 4).
#  - three staples stored together: the hook runs once, with the three paths on
#    stdin (one per line) and in OCSPD_CHANGED;
#  - a certificate added while the hook runs: a second run after the first,
#    with only that path, and never two runs at once;
#  - a revoked certificate: --alert-hook runs with OCSPD_EVENT=revoked,
#    OCSPD_CERT and OCSPD_DETAIL;
#  - a failing hook (exit 3): its output and status are logged, ocspd goes on;
#  - a hanging hook: killed after the timeout (OCSPD_HOOK_TIMEOUT, the whole
#    process group), logged, ocspd goes on and runs the next batch.
. "$(dirname "$0")/../lib.sh"
setup
make_pki
start_responder "$PKI" "$RESP_PORT"

site=$T/site
mkdir -p "$site"
cp "$CERTS/good1.pem" "$CERTS/good2.pem" "$CERTS/good3.pem" "$site/"

# The hook: one line per run in runs.txt, stdin and env saved per run, an
# OVERLAP line if a run starts while another is under way; slow when asked.
cat >"$T/hook.sh" <<'EOF'
#!/bin/sh
d=$(dirname "$0")
[ -e "$d/running" ] && echo OVERLAP >>"$d/runs.txt"
: >"$d/running"
n=$(($(wc -l <"$d/runs.txt" 2>/dev/null || echo 0) + 1))
echo "run $n" >>"$d/runs.txt"
cat >"$d/stdin.$n"
printf '%s\n' "$OCSPD_CHANGED" >"$d/env.$n"
[ -e "$d/slow" ] && sleep 3
rm -f "$d/running"
echo "hook run $n done"
EOF
cat >"$T/alert.sh" <<'EOF'
#!/bin/sh
printf '%s|%s|%s\n' "$OCSPD_EVENT" "$OCSPD_CERT" "$OCSPD_DETAIL" >>"$(dirname "$0")/alerts.txt"
EOF
chmod +x "$T/hook.sh" "$T/alert.sh"
runs() { grep -c '^run' "$T/runs.txt" 2>/dev/null || echo 0; }

log=$T/ocspd.log
touch "$T/slow"
start_ocspd "$log" --ca-file "$CA/root.pem" --hook "$T/hook.sh" --alert-hook "$T/alert.sh" "$site"
pid=$OCSPD_PID
wait_for test -e "$T/stdin.1" || fail "the hook did not run after the first staples"
# Added while run 1 is under way (it sleeps 3 s).
test -e "$T/running" || fail "run 1 already over: cannot test a change during a run"
cp "$CERTS/good1.pem" "$site/late.pem"
wait_for test -e "$T/stdin.2" || fail "no second run for late.pem"
wait_log "$log" "hook: hook run 2 done" || fail "hook output of run 2 not logged"
sleep 2.5	# debounce (1 s) + margin: no further run must come
[ "$(runs)" = 2 ] || fail "expected 2 runs, got $(runs): $(cat "$T/runs.txt")"
grep -q OVERLAP "$T/runs.txt" && fail "two hook runs overlapped"
for n in good1 good2 good3; do
	grep -qx "$site/$n.pem" "$T/stdin.1" || fail "run 1: $n.pem not on stdin ($(cat "$T/stdin.1"))"
	grep -qx "$site/$n.pem" "$T/env.1" || fail "run 1: $n.pem not in OCSPD_CHANGED"
done
[ "$(wc -l <"$T/stdin.1")" = 3 ] || fail "run 1: stdin should have 3 lines: $(cat "$T/stdin.1")"
[ "$(cat "$T/stdin.2")" = "$site/late.pem" ] || fail "run 2: stdin should be late.pem only: $(cat "$T/stdin.2")"
[ "$(cat "$T/env.2")" = "$site/late.pem" ] || fail "run 2: OCSPD_CHANGED should be late.pem only"
ok "hook: one run per batch, paths on stdin and in OCSPD_CHANGED, a change during a run gets its own run"

# Revoked: the alert hook.
cp "$CERTS/revoked.pem" "$site/"
wait_for test -s "$T/alerts.txt" || fail "alert-hook did not run for revoked.pem"
IFS='|' read -r ev cert detail <"$T/alerts.txt"
[ "$ev" = revoked ] || fail "OCSPD_EVENT=$ev, expected revoked"
[ "$cert" = "$site/revoked.pem" ] || fail "OCSPD_CERT=$cert"
[ -n "$detail" ] || fail "OCSPD_DETAIL is empty"
ok "alert-hook: revoked, $cert, detail '$detail'"
kill -0 $pid 2>/dev/null || fail "ocspd died"
stop_pid $pid TERM
[ "$RC" = 0 ] || fail "ocspd exit status $RC"

# A failing hook.
rm -f "$site"/*.ocsp
start_ocspd "$T/fail.log" --ca-file "$CA/root.pem" --hook 'echo failing-hook-says-hello; exit 3' "$site"
pid=$OCSPD_PID
wait_log "$T/fail.log" "exit status 3" || fail "failing hook: exit status not logged"
grep -q "failing-hook-says-hello" "$T/fail.log" || fail "failing hook: output not logged"
check_staple "$site/good1.pem"
kill -0 $pid 2>/dev/null || fail "ocspd died after a failing hook"
stop_pid $pid TERM
ok "failing hook logged: $(grep 'exit status 3' "$T/fail.log" | sed 's/.*ocspd //')"

# A hanging hook (and a grandchild): killed after 2 s, the next batch still runs.
rm -f "$site"/*.ocsp "$site/late.pem"
cat >"$T/hang.sh" <<'EOF'
#!/bin/sh
d=$(dirname "$0")
cat >>"$d/hang-stdin"
[ -e "$d/hang-once" ] && exit 0
: >"$d/hang-once"
sleep 600 &
echo $! >"$d/grandchild.pid"
wait
EOF
chmod +x "$T/hang.sh"
OCSPD_HOOK_TIMEOUT=2 start_ocspd "$T/hang.log" --ca-file "$CA/root.pem" --hook "$T/hang.sh" "$site"
pid=$OCSPD_PID
wait_log "$T/hang.log" "still running after 2 s; sending SIGTERM" || fail "hanging hook: no timeout line"
wait_log "$T/hang.log" "killed by signal 15" || fail "hanging hook: not reported killed"
gc=$(cat "$T/grandchild.pid")
wait_for eval "! kill -0 $gc 2>/dev/null" || fail "the hook's own child (sleep, pid $gc) survived the timeout"
kill -0 $pid 2>/dev/null || fail "ocspd died after a hanging hook"
cp "$CERTS/good2.pem" "$site/after.pem"
wait_for grep -qx "$site/after.pem" "$T/hang-stdin" || fail "no hook run after the hanging one"
stop_pid $pid TERM
[ "$RC" = 0 ] || fail "ocspd exit status $RC"
ok "hanging hook killed (process group) after the timeout, later batches still run"
pass
