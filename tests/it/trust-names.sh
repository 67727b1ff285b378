#!/bin/bash
# trust-names: whoever can name a file in a watched directory gets an error
# line for it, and nothing more (issue 11, point 1).
#  - bundles named with a newline (followed by a fake path), an ESC colour
#    sequence, a tab and a carriage return are refused: one error line per
#    name, the name escaped (\x0a, \x1b), logged once even across rescans
#    (two SIGHUPs); no staple for them; the rest of the directory is stapled,
#    a name with non-UTF-8 bytes (\xff\xfe) included;
#  - the log holds no raw control byte and is valid UTF-8;
#  - the hook's stdin and OCSPD_CHANGED hold only whole real paths (the fake
#    "forged.pem" line never appears);
#  - /status parses as JSON (strict UTF-8) and shows the \xff\xfe name as
#    the text \xff\xfe (and so does "ocspd status").
. "$(dirname "$0")/../lib.sh"
setup
make_pki
start_responder "$PKI" "$RESP_PORT"

site=$T/site
mkdir -p "$site"
cp "$CERTS/good1.pem" "$site/good1.pem"
cp "$CERTS/good2.pem" "$site/"$'\xff\xfe-bytes.pem'
bad=($'evil\nforged.pem' $'esc\e[31mred\e[0m.pem' $'tab\there.pem' $'cr\rhere.pem')
# How each bad name must appear in the log: control bytes as \xNN.
shown=('evil\x0aforged.pem' 'esc\x1b[31mred\x1b[0m.pem' 'tab\x09here.pem' 'cr\x0dhere.pem')
for n in "${bad[@]}"; do cp "$CERTS/good3.pem" "$site/$n"; done

cat >"$T/hook.sh" <<'EOF'
#!/bin/sh
d=$(dirname "$0")
cat >>"$d/hook-stdin"
printf '%s\n' "$OCSPD_CHANGED" >>"$d/hook-env"
EOF
chmod +x "$T/hook.sh"

SP=$(free_port)
log=$T/ocspd.log
start_ocspd "$log" --ca-file "$CA/root.pem" --hook "$T/hook.sh" --status-listen "127.0.0.1:$SP" "$site"
pid=$OCSPD_PID
wait_for test -s "$site/good1.pem.ocsp" || fail "good1.pem: no staple"
wait_for test -s "$site/"$'\xff\xfe-bytes.pem.ocsp' || fail "the \\xff\\xfe name: no staple"
check_staple "$site/good1.pem"
check_staple "$site/"$'\xff\xfe-bytes.pem'
for i in "${!bad[@]}"; do
	wait_for grep -qF -- "$site/${shown[$i]}: file name refused" "$log" ||
		fail "no escaped refusal line for $(printf '%q' "${bad[$i]}")"
done
wait_for test -s "$T/hook-stdin" || fail "the hook did not run"
ok "the 4 names with control bytes refused, each named escaped; the others stapled"

# Two rescans (SIGHUP rescans every directory): still one line per name.
for _ in 1 2; do
	n=$(count_log "$log" "SIGHUP: configuration reloaded")
	kill -HUP "$pid"
	wait_for eval '[ "$(count_log "$log" "SIGHUP: configuration reloaded")" -gt '"$n"' ]' || fail "SIGHUP not done"
done
sleep 1.5	# a hook run for a refused name would come after the 1 s debounce
[ "$(count_log "$log" "file name refused")" = 4 ] ||
	fail "expected 4 refusal lines after two rescans, got $(count_log "$log" "file name refused")"
for n in "${bad[@]}"; do
	[ -e "$site/$n.ocsp" ] && fail "a staple was written for $(printf '%q' "$n")"
done
ok "logged once per name across two rescans; no staple for a refused name"

# The log: no raw control byte but the line ends, valid UTF-8.
python3 - "$log" <<'PY' || fail "the log has raw control bytes or is not UTF-8 (above)"
import sys
data = open(sys.argv[1], "rb").read()
bad = sorted({b for b in data if (b < 0x20 and b != 0x0a) or b == 0x7f})
if bad:
    print("raw control bytes in the log: %s" % ", ".join("0x%02x" % b for b in bad)); sys.exit(1)
try:
    data.decode("utf-8", "strict")
except UnicodeDecodeError as e:
    print("the log is not valid UTF-8: %s" % e); sys.exit(1)
PY
grep -qF -- "$site/"'\xff\xfe-bytes.pem' "$log" || fail "the \\xff\\xfe name is not shown as \\xff\\xfe in the log"
ok "the log has no raw control byte and is valid UTF-8; bad bytes shown as \\xNN"

# Hook input: every line a whole path of a stapled certificate.
python3 - "$T/hook-stdin" "$T/hook-env" "$site" <<'PY' || fail "hook input holds something but whole real paths (above)"
import os, sys
site = sys.argv[3].encode()
want = {site + b"/good1.pem", site + b"/\xff\xfe-bytes.pem"}
for f in sys.argv[1:3]:
    lines = [l for l in open(f, "rb").read().split(b"\n") if l]
    got = set(lines)
    if got != want:
        print("%s: lines %r, want %r" % (os.path.basename(f), sorted(got), sorted(want))); sys.exit(1)
PY
ok "hook stdin and OCSPD_CHANGED: only the two real paths, one per line"

# /status: strict JSON whatever the bytes of the names.
curl -sf "http://127.0.0.1:$SP/status" >"$T/status.json" || fail "GET /status failed"
python3 - "$T/status.json" "$site" <<'PY' || fail "/status is not valid JSON or shows the names wrongly (above)"
import json, sys
raw = open(sys.argv[1], "rb").read()
try:
    doc = json.loads(raw.decode("utf-8", "strict"))
except (UnicodeDecodeError, ValueError) as e:
    print("/status is not valid JSON: %s" % e); sys.exit(1)
paths = sorted(c["path"] for c in doc["certificates"])
want = sorted([sys.argv[2] + "/good1.pem", sys.argv[2] + "/\\xff\\xfe-bytes.pem"])
if paths != want:
    print("/status paths %r, want %r" % (paths, want)); sys.exit(1)
PY
"$OCSPD" status "127.0.0.1:$SP" >"$T/status.txt" 2>&1
rc=$?
[ $rc = 0 ] || fail "ocspd status: exit $rc: $(cat "$T/status.txt")"
grep -qF -- "$site/"'\xff\xfe-bytes.pem' "$T/status.txt" || fail "ocspd status does not show the \\xff\\xfe name: $(cat "$T/status.txt")"
ok "/status is valid JSON; the \\xff\\xfe name reads \\xff\\xfe (also in ocspd status)"

kill -0 "$pid" 2>/dev/null || fail "ocspd died"
stop_pid "$pid"
[ "$RC" = 0 ] || fail "SIGTERM: exit $RC"

# --one-off: a refused name is a file without a staple, so the pass failed.
run_ocspd "$T/oneoff.log" --one-off --ca-file "$CA/root.pem" "$site"
[ "$RC" = 1 ] || fail "--one-off with refused names: exit $RC, expected 1"
grep -q "one-off: 4 certificate files refused for their name" "$T/oneoff.log" ||
	fail "--one-off does not say that names were refused: $(tail -3 "$T/oneoff.log")"
ok "--one-off exits 1 and counts the refused names"
pass
