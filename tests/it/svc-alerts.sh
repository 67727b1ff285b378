#!/bin/bash
# svc-alerts: a staple that will expire within --alert-before while renewal
# keeps failing is an error, logged once, and runs --alert-hook with
# OCSPD_EVENT=expiring; the staple itself stays in service (still verified
# good on disk). A revoked certificate alerts once, not once per retry.
. "$(dirname "$0")/../lib.sh"
setup

make_pki
# Responses valid 10 minutes; with --minimum-validity 590 the renewal is due
# after the 10 s floor, well inside --alert-before.
start_responder "$PKI" "$RESP_PORT" -nmin 10
site=$T/site
cert_dir "$site" good1 revoked
cat >"$T/alert.sh" <<'EOF'
#!/bin/sh
printf '%s|%s|%s\n' "$OCSPD_EVENT" "$OCSPD_CERT" "$OCSPD_DETAIL" >>"$(dirname "$0")/alerts.txt"
EOF
chmod +x "$T/alert.sh"
start_ocspd "$T/d.log" --ca-file "$CA/root.pem" --minimum-validity 590 --alert-before 900 \
	--alert-hook "$T/alert.sh" "$site"
wait_log "$T/d.log" "good1.pem: staple stored" || fail "no first staple"
check_staple "$site/good1.pem"
cp "$site/good1.pem.ocsp" "$T/saved.ocsp"
wait_for grep -q "^revoked|$site/revoked.pem|" "$T/alerts.txt" || fail "no alert for the revoked certificate"

stop_responder
wait_log "$T/d.log" "error: $site/good1.pem: staple expires at .* and renewal keeps failing" ||
	fail "no error line for a failing renewal close to expiry"
wait_for grep -q "^expiring|$site/good1.pem|" "$T/alerts.txt" || fail "alert-hook not run with OCSPD_EVENT=expiring"
cmp -s "$T/saved.ocsp" "$site/good1.pem.ocsp" || fail "the staple in service was changed"
check_staple "$site/good1.pem"
ok "renewal failing within --alert-before: one error line, alert-hook 'expiring', staple kept"

[ "$(grep -c "^expiring|" "$T/alerts.txt")" = 1 ] || fail "more than one expiring alert"
[ "$(grep -c "^revoked|" "$T/alerts.txt")" = 1 ] || fail "more than one revoked alert"
[ "$(count_log "$T/d.log" "renewal keeps failing")" = 1 ] || fail "the expiring error was logged more than once"
ok "each alert given once"
stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "SIGTERM: exit $RC"
pass
