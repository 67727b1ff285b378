#!/bin/bash
# core-agree: one recorded state per certificate, so every report agrees.
# Certificates in each state the daemon can be in:
#   good1    stapled                   (openssl ocsp answers good)
#   renewing stapled, renewal in progress (stapled from a faultd answering
#                                       good for 40 s, replaced by one that
#                                       never answers before the renewal)
#   revoked  revoked                   (openssl ocsp answers revoked)
#   noaia    no_ocsp_url
#   dead     failing, no staple        (its responder refuses connections)
#   kept     failing, staple kept      (good staple on disk, --no-recycle, responder dead)
#   hang     pending, in progress      (its responder never answers)
# The SIGUSR1 report (its summary and one line per certificate), /status,
# the ocspd_certificates gauges of /metrics and ocspd status (summary and
# table) must say the same state (and staple or not) for each certificate.
. "$(dirname "$0")/../lib.sh"
setup

find_faultd
make_pki
start_responder "$PKI" "$RESP_PORT"
FPORT=$(free_port)
start_faultd "$FPORT"
BASE=http://127.0.0.1:$FPORT
RPORT=$(free_port)
start_faultd "$RPORT" -m good -v 40
site=$T/site
mkdir -p "$site"
"$FAULTD" leaf "$CA/inter.pem" "$CA/inter.key" "$CA/leaf.key" "$site/renewing.pem" "http://127.0.0.1:$RPORT/" ||
	fail "leaf renewing"
cp "$CERTS/good1.pem" "$CERTS/revoked.pem" "$CERTS/noaia.pem" "$site/"
"$FAULTD" leaf "$CA/inter.pem" "$CA/inter.key" "$CA/leaf.key" "$site/dead.pem" http://127.0.0.1:1/ || fail "leaf dead"
"$FAULTD" leaf "$CA/inter.pem" "$CA/inter.key" "$CA/leaf.key" "$site/kept.pem" http://127.0.0.1:1/ || fail "leaf kept"
"$FAULTD" leaf "$CA/inter.pem" "$CA/inter.key" "$CA/leaf.key" "$site/hang.pem" "$BASE/hang" || fail "leaf hang"
openssl ocsp -no_nonce -CAfile "$CA/root.pem" -issuer "$CA/inter.pem" -cert "$site/kept.pem" \
	-url "$BASE/good" -respout "$site/kept.pem.ocsp" >"$T/ask.txt" 2>&1 || fail "kept: no staple: $(cat "$T/ask.txt")"
check_staple "$site/kept.pem"

SPORT=$(free_port)
start_ocspd "$T/d.log" -v --no-recycle --ca-file "$CA/root.pem" --timeout 120 \
	--status-listen "127.0.0.1:$SPORT" "$site"
wait_log "$T/d.log" "good1.pem: staple stored" || fail "good1 not stapled"
# Its renewal comes half-way to the end of the 40 s (about 20 s from now):
# by then its responder never answers, so it stays in progress, stapled.
wait_log "$T/d.log" "renewing.pem: staple stored" || fail "renewing not stapled"
stop_pid "$FAULTD_PID"
hangs() { grep -c "faultd: hang" "$T/faultd.log"; }
start_faultd "$RPORT" -m hang
wait_log "$T/d.log" "revoked.pem: no staple \(certificate revoked\); retry in" || fail "revoked: no retry"
wait_log "$T/d.log" "dead.pem: no staple \(.*\); retry in" || fail "dead: no retry"
wait_log "$T/d.log" "kept.pem: renewal failed \(.*\); keeping the current staple" || fail "kept: not failing with its staple"
wait_for grep -q "hang" "$T/faultd.log" || fail "hang: never asked"
HANGS=$(hangs)
wait_for -t 60 eval '[ "$(hangs)" -gt "$HANGS" ]' || fail "renewing: renewal never asked"

: >"$T/report.log"
kill -USR1 "$OCSPD_PID"
wait_log "$T/d.log" "status: 7 certificates: " || fail "no SIGUSR1 report"
wait_log "$T/d.log" "status: $site/kept.pem: " || fail "SIGUSR1 report incomplete"
curl -sf "http://127.0.0.1:$SPORT/status" >"$T/s.json" || fail "GET /status failed"
curl -sf "http://127.0.0.1:$SPORT/metrics" >"$T/m.txt" || fail "GET /metrics failed"
"$OCSPD" status "127.0.0.1:$SPORT" >"$T/st.txt" 2>&1
echo "exit $?" >>"$T/st.txt"

python3 - "$site" "$T/d.log" "$T/s.json" "$T/m.txt" "$T/st.txt" <<'EOF' || fail "the reports disagree (see above)"
import json, re, sys
site, dlog, sjson, mtxt, sttxt = sys.argv[1:]
want = {"good1": ("stapled", True), "renewing": ("stapled", True), "revoked": ("revoked", False), "noaia": ("no_ocsp_url", False),
        "dead": ("failing", False), "kept": ("failing", True), "hang": ("pending", False)}
states = ["stapled", "failing", "revoked", "no_ocsp_url", "pending"]
bad = []
def check(src, name, state, staple):
    if (state, staple) != want[name]:
        bad.append(f"{src}: {name}: {state}, staple={staple}; want {want[name]}")

# /status
doc = json.load(open(sjson))
seen = {}
for c in doc["certificates"]:
    name = c["path"][len(site) + 1:-4]
    seen[name] = c["state"]
    check("/status", name, c["state"], c["staple"])
if sorted(seen) != sorted(want):
    bad.append(f"/status lists {sorted(seen)}")
counts = {s: sum(1 for v in seen.values() if v == s) for s in states}

# SIGUSR1: the last report's lines
log = open(dlog).read().splitlines()
start = max(i for i, l in enumerate(log) if "status: 7 certificates: " in l)
summary = log[start].split("status: 7 certificates: ")[1]
wsum = f"{counts['stapled']} stapled, {counts['failing']} failing, {counts['revoked']} revoked, {counts['no_ocsp_url']} without OCSP URL, {counts['pending']} pending; "
if not summary.startswith(wsum):
    bad.append(f"SIGUSR1 summary {summary!r}, /status counts say {wsum!r}")
got = {}
for l in log[start + 1:]:
    m = re.search(r"status: " + re.escape(site) + r"/(\w+)\.pem: (\w+)(.*)", l)
    if m and m.group(1) not in got:
        got[m.group(1)] = 1
        rest = m.group(3)
        staple = m.group(2) == "stapled" or "keeping the staple" in rest
        check("SIGUSR1", m.group(1), m.group(2), staple)
        if m.group(1) in ("hang", "renewing") and "in progress" not in rest:
            bad.append(f"SIGUSR1: {m.group(1)} not shown in progress: {l}")
if sorted(got) != sorted(want):
    bad.append(f"SIGUSR1 lists {sorted(got)}")

# /metrics gauges
for s in states:
    line = f'ocspd_certificates{{state="{s}"}} {counts[s]}'
    if line not in open(mtxt).read().splitlines():
        bad.append(f"/metrics lacks {line!r}")

# ocspd status: summary, one row per certificate, exit status
st = open(sttxt).read().splitlines()
wst = f"OCSPD CRITICAL - 7 certificates: {counts['stapled']} stapled, {counts['failing']} failing, {counts['revoked']} revoked, {counts['no_ocsp_url']} no OCSP URL, {counts['pending']} pending"
if st[0] != wst:
    bad.append(f"ocspd status summary {st[0]!r}, want {wst!r}")
rows = {}
for l in st[2:]:
    f = l.split()
    for w in f:
        if w.startswith(site + "/"):
            rows[w[len(site) + 1:-4]] = 1
            check("ocspd status", w[len(site) + 1:-4], f[0], f[1] != "-")
if sorted(rows) != sorted(want):
    bad.append(f"ocspd status lists {sorted(rows)}")
if st[-1] != "exit 2":
    bad.append(f"ocspd status: {st[-1]}, want exit 2 (CRITICAL: revoked)")
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
ok "SIGUSR1, /status, /metrics and ocspd status agree on every certificate"

# The counts follow certificates that go and change: dead.pem and renewing.pem
# removed, kept.pem replaced by good1's bundle (now stapled from the responder).
# renewing's responder goes first: a forgotten certificate's request still in
# flight would stay "in progress" until it lands.
stop_pid "$FAULTD_PID"
rm "$site/dead.pem" "$site/renewing.pem"
cp "$site/good1.pem" "$site/kept.pem.new" && mv "$site/kept.pem.new" "$site/kept.pem"
counts() {
	curl -sf "http://127.0.0.1:$SPORT/metrics" | grep -c \
		-e '^ocspd_certificates{state="stapled"} 2$' -e '^ocspd_certificates{state="failing"} 0$' \
		-e '^ocspd_certificates{state="revoked"} 1$' -e '^ocspd_certificates{state="no_ocsp_url"} 1$' \
		-e '^ocspd_certificates{state="pending"} 1$'
}
settled() { [ "$(counts)" = 5 ]; }
wait_for settled || fail "/metrics counts after a removal and a change: $(curl -sf "http://127.0.0.1:$SPORT/metrics" | grep ocspd_certificates)"
kill -USR1 "$OCSPD_PID"
wait_log "$T/d.log" "status: 5 certificates: 2 stapled, 0 failing, 1 revoked, 1 without OCSP URL, 1 pending; 1 in progress" ||
	fail "SIGUSR1 summary after a removal and a change: $(grep "status: 5 certificates" "$T/d.log")"
ok "counts follow a removed and a changed certificate"
stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "SIGTERM: exit $RC"
pass
