#!/bin/bash
# svc-status: --status-listen serves /metrics and /status computed from the
# daemon's real state, and "ocspd status" turns /status into a table with a
# Nagios exit status.
#  - PKI of good, revoked, no-AIA and junk files against a real openssl ocsp:
#    the state gauges, counters, histogram and earliest expiry agree with the
#    staples on disk (as openssl prints them); /status has one object per file
#    with the staple's own times;
#  - ocspd status: 2 (CRITICAL) with a revoked certificate, 0 (OK) with only
#    good ones (address given, from -c FILE, from ~/.ocspd.conf), 1 (WARNING)
#    when renewal fails while a valid staple is still served, 3 when nobody
#    listens;
#  - 404 for an unknown path, 405 for POST; an address in use or malformed
#    stops the start with exit 2 and a message naming it.
. "$(dirname "$0")/../lib.sh"
setup

make_pki
start_responder "$PKI" "$RESP_PORT"
GOOD="good1 good2 good3 deadfirst issuerfile"

# The value of one sample (NAME{labels} as written) on the /metrics page in $1.
sample() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
scrape() { curl -sf "http://127.0.0.1:$1/metrics" >"$2"; }
# The pass is over when nothing is pending any more.
settled() {
	scrape "$1" "$T/settle.txt" && [ "$(sample "$T/settle.txt" 'ocspd_certificates{state="pending"}')" = 0 ]
}

# 1. The full PKI: every state but pending.
S1=$(free_port)
start_ocspd "$T/d1.log" --ca-file "$CA/root.pem" --status-listen "127.0.0.1:$S1" "$CERTS"
D1=$OCSPD_PID
wait_log "$T/d1.log" "status: serving http://127.0.0.1:$S1/metrics" || fail "no status server on $S1"
for c in $GOOD; do
	wait_log "$T/d1.log" "$c.pem: staple stored" || fail "$c: no staple stored"
done
wait_log "$T/d1.log" "revoked.pem: .*retry in" || fail "revoked: no retry scheduled"
wait_for settled "$S1" || fail "certificates still pending on /metrics"

# What the disk says: staples that verify good, and the revoked one has none.
stapled=0
for f in "$CERTS"/*.pem; do
	[ "$(staple_status "$f")" = good ] && stapled=$((stapled + 1))
done
[ "$stapled" = 5 ] || fail "expected 5 good staples on disk, found $stapled"
no_staple "$CERTS/revoked.pem"

t0=$(date +%s)
scrape "$S1" "$T/m1.txt" || fail "GET /metrics failed"
curl -sf "http://127.0.0.1:$S1/status" >"$T/s1.json" || fail "GET /status failed"
curl -sf -o /dev/null -D "$T/h1.txt" "http://127.0.0.1:$S1/metrics" || fail "GET /metrics headers"
grep -qi '^content-type: text/plain; version=0.0.4' "$T/h1.txt" || fail "/metrics content type: $(cat "$T/h1.txt")"

# Checks /metrics ($1) against the staples in $2 and the expected gauges ($3 =
# "stapled failing revoked no_ocsp_url pending"); $4 the time of the scrape;
# $5 1 if all is well (the last-pass gauge then reads now).
check_metrics() {
	python3 - "$@" <<'PY'
import calendar, glob, re, subprocess, sys, time
page, certs, want, t0, allwell = sys.argv[1], sys.argv[2], sys.argv[3].split(), float(sys.argv[4]), sys.argv[5] == "1"
def die(msg):
    print("metrics: " + msg); sys.exit(1)
samples, typed = {}, set()
for line in open(page):
    line = line.rstrip("\n")
    if line.startswith("# TYPE "):
        typed.add(line.split()[2]); continue
    if not line or line.startswith("#"):
        continue
    m = re.match(r'^([a-z_]+)(\{.*\})? (\S+)$', line)
    if not m: die("bad line %r" % line)
    labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
    samples.setdefault(m.group(1), []).append((labels, float(m.group(3))))
for fam in ("ocspd_certificates", "ocspd_staple_expiry_seconds", "ocspd_fetches_total",
            "ocspd_fetch_duration_seconds", "ocspd_haproxy_pushes_total",
            "ocspd_last_successful_pass_timestamp_seconds"):
    if fam not in typed: die("no TYPE line for " + fam)
got = {l["state"]: v for l, v in samples["ocspd_certificates"]}
for st, n in zip(("stapled", "failing", "revoked", "no_ocsp_url", "pending"), want):
    if got.get(st) != float(n): die("certificates{state=%s} = %s, want %s" % (st, got.get(st), n))
by = {}
for l, v in samples["ocspd_fetches_total"]:
    by[l["result"]] = by.get(l["result"], 0) + v
stapled, revoked = int(want[0]), int(want[2])
if by.get("good", 0) < stapled: die("fetches good = %s < %d" % (by.get("good"), stapled))
if by.get("revoked", 0) < revoked: die("fetches revoked = %s < %d" % (by.get("revoked"), revoked))
count = samples["ocspd_fetch_duration_seconds_count"][0][1]
inf = [v for l, v in samples["ocspd_fetch_duration_seconds_bucket"] if l["le"] == "+Inf"]
if count <= 0 or inf != [count]: die("histogram count %s, +Inf bucket %s" % (count, inf))
# The earliest nextUpdate of the staples on disk, as openssl prints it.
nexts = []
for f in glob.glob(certs + "/*.ocsp"):
    out = subprocess.run(["openssl", "ocsp", "-respin", f, "-resp_text", "-noverify"],
                         capture_output=True, text=True).stdout
    for m in re.finditer(r'Next Update: (.*)', out):
        nexts.append(calendar.timegm(time.strptime(m.group(1).strip(), "%b %d %H:%M:%S %Y %Z")))
exp = samples.get("ocspd_staple_expiry_seconds")
if not nexts:
    if exp: die("staple_expiry_seconds present without staples")
else:
    if not exp: die("no staple_expiry_seconds sample")
    want_exp = min(nexts) - t0
    if not (exp[0][1] > 0 and abs(exp[0][1] - want_exp) <= 5):
        die("staple_expiry_seconds %s, want %s (+-5)" % (exp[0][1], want_exp))
last = samples["ocspd_last_successful_pass_timestamp_seconds"][0][1]
if allwell and abs(last - t0) > 5: die("last successful pass %s, not now (%s)" % (last, t0))
if not allwell and last != 0: die("last successful pass %s, want 0 (never all well)" % last)
PY
}
check_metrics "$T/m1.txt" "$CERTS" "5 3 1 1 0" "$t0" 0 || fail "/metrics disagrees (above)"
ok "/metrics: state gauges, counters, histogram and earliest expiry match the disk"

python3 - "$T/s1.json" "$CERTS" "$CA/serials" "$("$OCSPD" --version)" "$GOOD" <<'PY' || fail "/status disagrees (above)"
import calendar, json, re, subprocess, sys, time
doc, certs, serials, version, good = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5].split()
def die(msg):
    print("status: " + msg); sys.exit(1)
serial = dict(l.split() for l in open(serials))
iso = lambda s: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(calendar.timegm(time.strptime(s.strip(), "%b %d %H:%M:%S %Y %Z"))))
if "ocspd " + doc["version"] != version: die("version %r" % doc["version"])
if not re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$', doc["now"]): die("now %r" % doc["now"])
by = {c["path"]: c for c in doc["certificates"]}
if len(by) != 10: die("%d certificates, want 10" % len(by))
keys = {"path", "subject", "serial", "responder", "state", "staple", "this_update", "next_update",
        "next_renewal", "last_error", "error_count"}
for c in doc["certificates"]:
    if set(c) != keys: die("%s: keys %s" % (c["path"], sorted(c)))
for n in good:
    c = by[certs + "/" + n + ".pem"]
    out = subprocess.run(["openssl", "ocsp", "-respin", certs + "/" + n + ".pem.ocsp", "-resp_text", "-noverify"],
                         capture_output=True, text=True).stdout
    this = iso(re.search(r'This Update: (.*)', out).group(1))
    nxt = iso(re.search(r'Next Update: (.*)', out).group(1))
    if c["state"] != "stapled" or c["staple"] is not True: die("%s: %s staple=%s" % (n, c["state"], c["staple"]))
    if (c["this_update"], c["next_update"]) != (this, nxt):
        die("%s: times %s %s, openssl says %s %s" % (n, c["this_update"], c["next_update"], this, nxt))
    if c["next_renewal"] is None or not (c["this_update"] < c["next_renewal"] < c["next_update"]):
        die("%s: next_renewal %s" % (n, c["next_renewal"]))
    if c["serial"].lstrip("0").upper() != serial[n].lstrip("0").upper(): die("%s: serial %s" % (n, c["serial"]))
    if "CN=%s.test" % n not in c["subject"]: die("%s: subject %s" % (n, c["subject"]))
    if n != "deadfirst" and c["error_count"] != 0: die("%s: error_count %s" % (n, c["error_count"]))
r = by[certs + "/revoked.pem"]
if (r["state"], r["staple"], r["next_update"]) != ("revoked", False, None): die("revoked: %s" % r)
r = by[certs + "/noaia.pem"]
if (r["state"], r["staple"], r["responder"]) != ("no_ocsp_url", False, None): die("noaia: %s" % r)
for n in ("notpem", "keyonly", "empty"):
    r = by[certs + "/" + n + ".pem"]
    if (r["state"], r["staple"], r["subject"]) != ("failing", False, None) or not r["last_error"]:
        die("%s: %s" % (n, r))
PY
ok "/status: one object per file, staple times as openssl prints them"

code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$S1/nope")
[ "$code" = 404 ] || fail "unknown path: HTTP $code, want 404"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x=1 "http://127.0.0.1:$S1/status")
[ "$code" = 405 ] || fail "POST: HTTP $code, want 405"
ok "404 for an unknown path, 405 for POST"

# 2. ocspd status against it: CRITICAL, the revoked certificate first.
"$OCSPD" status "127.0.0.1:$S1" >"$T/st1.txt" 2>&1
rc=$?
[ $rc = 2 ] || fail "ocspd status with a revoked certificate: exit $rc, want 2: $(cat "$T/st1.txt")"
[ "$(head -1 "$T/st1.txt")" = "OCSPD CRITICAL - 10 certificates: 5 stapled, 3 failing, 1 revoked, 1 no OCSP URL, 0 pending" ] ||
	fail "summary line: $(head -1 "$T/st1.txt")"
sed -n 3p "$T/st1.txt" | grep -q "^revoked .*$CERTS/revoked.pem" || fail "revoked is not listed first: $(cat "$T/st1.txt")"
[ "$(grep -c "^stapled .*$CERTS/" "$T/st1.txt")" = 5 ] || fail "not 5 stapled lines: $(cat "$T/st1.txt")"
ok "ocspd status: exit 2 and the summary line with a revoked certificate"

# 3. Nobody listening: UNKNOWN.
"$OCSPD" status "127.0.0.1:$(free_port)" >"$T/st3.txt" 2>&1
rc=$?
[ $rc = 3 ] || fail "ocspd status without a daemon: exit $rc, want 3"
grep -q "^OCSPD UNKNOWN - " "$T/st3.txt" || fail "no UNKNOWN line: $(cat "$T/st3.txt")"
ok "ocspd status: exit 3 when nobody listens"

# 4. A listen address in use or malformed stops the start.
run_ocspd "$T/bad1.log" --one-off --ca-file "$CA/root.pem" --status-listen "127.0.0.1:$S1" "$CERTS/good1.pem"
[ "$RC" = 2 ] || fail "--status-listen on a port in use: exit $RC, want 2"
grep -q "status-listen 127.0.0.1:$S1: .*in use" "$T/bad1.log" || fail "no message naming the address: $(cat "$T/bad1.log")"
run_ocspd "$T/bad2.log" --one-off --ca-file "$CA/root.pem" --status-listen "127.0.0.1:http" "$CERTS/good1.pem"
[ "$RC" = 2 ] || fail "malformed --status-listen: exit $RC, want 2"
grep -q "status-listen 127.0.0.1:http: " "$T/bad2.log" || fail "no message naming the address: $(cat "$T/bad2.log")"
ok "a port in use or a malformed address: exit 2 naming it"

# 5. Only good certificates: OK, asked by address, -c FILE and ~/.ocspd.conf.
mkdir "$T/good"
cp "$CERTS/good1.pem" "$CERTS/good2.pem" "$T/good/"
S2=$(free_port)
start_ocspd "$T/d2.log" --ca-file "$CA/root.pem" --status-listen "127.0.0.1:$S2" "$T/good"
D2=$OCSPD_PID
for c in good1 good2; do
	wait_log "$T/d2.log" "$c.pem: staple stored" || fail "good dir: $c not stapled"
done
wait_for settled "$S2" || fail "good dir: still pending"
t0=$(date +%s)
scrape "$S2" "$T/m2.txt" || fail "GET /metrics (good dir)"
check_metrics "$T/m2.txt" "$T/good" "2 0 0 0 0" "$t0" 1 || fail "/metrics of the good dir disagrees (above)"
"$OCSPD" status "127.0.0.1:$S2" >"$T/st2.txt" 2>&1
rc=$?
[ $rc = 0 ] || fail "ocspd status, all good: exit $rc, want 0: $(cat "$T/st2.txt")"
[ "$(head -1 "$T/st2.txt")" = "OCSPD OK - 2 certificates: 2 stapled, 0 failing, 0 revoked, 0 no OCSP URL, 0 pending" ] ||
	fail "summary line: $(head -1 "$T/st2.txt")"
echo "status-listen = $S2" >"$T/s.conf"
"$OCSPD" status -c "$T/s.conf" >"$T/st4.txt" 2>&1 || fail "ocspd status -c FILE: exit $?: $(cat "$T/st4.txt")"
cp "$T/s.conf" "$HOME/.ocspd.conf"
"$OCSPD" status >"$T/st5.txt" 2>&1 || fail "ocspd status (~/.ocspd.conf): exit $?: $(cat "$T/st5.txt")"
rm "$HOME/.ocspd.conf"
"$OCSPD" status >"$T/st6.txt" 2>&1
rc=$?
[ $rc = 3 ] && grep -q "no ADDR:PORT given" "$T/st6.txt" || fail "no address anywhere: exit $rc: $(cat "$T/st6.txt")"
ok "ocspd status: exit 0 with only good certificates (address, -c FILE, ~/.ocspd.conf); 3 without an address"

stop_pid "$D1"
[ "$RC" = 0 ] || fail "first daemon: SIGTERM exit $RC"
stop_pid "$D2"
[ "$RC" = 0 ] || fail "second daemon: SIGTERM exit $RC"

# 6. Renewal failing while the staple is still valid: WARNING. The staples on
#    disk are good for a day; a minimum validity of two days makes them due at
#    once, and the responder is gone.
stop_responder
S3=$(free_port)
start_ocspd "$T/d3.log" --ca-file "$CA/root.pem" --minimum-validity 172800 --status-listen "127.0.0.1:$S3" "$T/good"
D3=$OCSPD_PID
warned() { "$OCSPD" status "127.0.0.1:$S3" >"$T/st7.txt" 2>&1; [ $? = 1 ]; }
wait_for warned || fail "ocspd status with failing renewals but valid staples: not exit 1: $(cat "$T/st7.txt")"
[ "$(head -1 "$T/st7.txt")" = "OCSPD WARNING - 2 certificates: 0 stapled, 2 failing, 0 revoked, 0 no OCSP URL, 0 pending" ] ||
	fail "summary line: $(head -1 "$T/st7.txt")"
grep -q "^failing  *20.*Z  .*$T/good/good1.pem" "$T/st7.txt" || fail "failing row without its expiry: $(cat "$T/st7.txt")"
ok "ocspd status: exit 1 while renewal fails and the staples are still valid"
stop_pid "$D3"
[ "$RC" = 0 ] || fail "third daemon: SIGTERM exit $RC"
pass
