#!/bin/bash
# The documentation matches the program: every option that --help lists is in
# the man page and in the README, and the man page lists no option the program
# does not know; every metric a daemon's /metrics prints (with --redis, an
# unreachable one, and --serve-ocsp) is in the README and the man page.
. "$(dirname "$0")/../lib.sh"
setup

"$OCSPD" --help >"$T/help.txt" || fail "--help exited non-zero"
grep -oE -- '--[a-z][a-z-]+' "$T/help.txt" | sort -u >"$T/help.opts"
[ "$(wc -l <"$T/help.opts")" -ge 20 ] || fail "--help lists too few options"
# roff writes "\-\-name"; turn it back into --name.
sed 's/\\-/-/g' "$ROOT/man/ocspd.8" | grep -oE -- '--[a-z][a-z-]+' | sort -u >"$T/man.opts"
missing=$(comm -23 "$T/help.opts" "$T/man.opts")
[ -z "$missing" ] || fail "options in --help but not in man/ocspd.8: $missing"
extra=$(comm -13 "$T/help.opts" "$T/man.opts")
[ -z "$extra" ] || fail "options in man/ocspd.8 that --help does not know: $extra"
ok "man page and --help list the same options"
for o in $(cat "$T/help.opts"); do
	grep -q -- "$o" "$ROOT/README.md" || fail "README.md does not mention $o"
done
ok "README mentions every option"
# The README's usage block is --help's option list, line for line.
grep -E '^  -' "$T/help.txt" | while IFS= read -r line; do
	grep -qxF -- "$line" "$ROOT/README.md" || { echo "$line"; }
done >"$T/stale.txt"
[ ! -s "$T/stale.txt" ] || fail "README usage block differs from --help: $(cat "$T/stale.txt")"
ok "README usage block matches --help"
# ocspd.conf(5) has a key for every long option but config, version and help.
grep -vxE -- '--(config|version|help)' "$T/help.opts" | sed 's/^--//' >"$T/keys.want"
sed -n 's/^\.BI \([a-z-]*\) .*/\1/p' "$ROOT/man/ocspd.conf.5" | sort -u >"$T/keys.have"
[ "$(comm -3 "$T/keys.want" "$T/keys.have")" = "" ] ||
	fail "man/ocspd.conf.5 keys differ from the options: $(comm -3 "$T/keys.want" "$T/keys.have" | tr '\n' ' ')"
ok "ocspd.conf(5) lists every config key"
"$OCSPD" --version | grep -qE '^ocspd [0-9]+\.[0-9]+' || fail "--version"
grep -q "$("$OCSPD" --version)" "$ROOT/man/ocspd.8" || fail "man page version differs from --version"
ok "--version matches the man page"

# The metrics: those of a real /metrics page, fleet mode and responder included.
: >"$T/empty.conf"
mkdir -p "$T/site"
sport=$(free_port)
start_ocspd "$T/d.log" -c "$T/empty.conf" --status-listen "127.0.0.1:$sport" \
	--redis "redis://127.0.0.1:$(free_port)" --serve-ocsp "127.0.0.1:$(free_port)" "$T/site"
wait_for curl -sf -o "$T/metrics.txt" "http://127.0.0.1:$sport/metrics" || fail "no /metrics: $(tail -n 3 "$T/d.log")"
stop_pid "$OCSPD_PID"
sed -n 's/^# TYPE \([a-z_]*\) .*/\1/p' "$T/metrics.txt" >"$T/metrics.names"
[ "$(wc -l <"$T/metrics.names")" -ge 10 ] || fail "/metrics has too few metrics: $(cat "$T/metrics.names")"
grep -q '^ocspd_redis_up$' "$T/metrics.names" && grep -q '^ocspd_ocsp_answers_total$' "$T/metrics.names" ||
	fail "/metrics lacks the fleet or responder metrics: $(cat "$T/metrics.names" | tr '\n' ' ')"
sed 's/\\//g' "$ROOT/man/ocspd.8" >"$T/man.txt"
for m in $(cat "$T/metrics.names"); do
	grep -qw "$m" "$ROOT/README.md" || fail "README.md does not list the metric $m"
	grep -qw "$m" "$T/man.txt" || fail "man/ocspd.8 does not list the metric $m"
done
ok "README and ocspd(8) list every metric /metrics prints ($(wc -l <"$T/metrics.names"))"
pass
