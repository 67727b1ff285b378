#!/bin/bash
# core-recycle: existing staples are reused (issue 3).
#  - a second one-off run recycles every valid staple: the responder sees no
#    new request, the staples are byte for byte the same, the run exits 0,
#    even with the responder stopped;
#  - --no-recycle (command line or config file) fetches them all again;
#  - a staple valid for less than --minimum-validity is not recycled;
#  - a staple for another certificate, or junk in the .ocsp file, is replaced.
. "$(dirname "$0")/../lib.sh"
setup
make_pki
start_responder "$PKI" "$RESP_PORT"

dir=$T/certs
mkdir "$dir"
certs="good1 good2 good3 issuerfile"
for c in $certs; do cp "$CERTS/$c.pem" "$dir/"; done
cp "$CERTS/issuerfile.pem.issuer" "$dir/"
ncerts=4
oneoff() { run_ocspd "$T/ocspd.log" --one-off --ca-file "$CA/root.pem" "$@" "$dir"; }
sums() { (cd "$dir" && sha256sum -- *.ocsp); }

oneoff
[ "$RC" = 0 ] || fail "first run exited $RC"
for c in $certs; do check_staple "$dir/$c.pem"; done
n1=$(responder_requests)
[ "$n1" -ge $ncerts ] || fail "responder saw $n1 requests for $ncerts certificates"
first=$(sums)
ok "first run: $ncerts staples, $n1 requests"

# 2. Second run: everything recycled.
echo "=== second run" >>"$T/ocspd.log"
oneoff
[ "$RC" = 0 ] || fail "second run exited $RC"
n2=$(responder_requests)
[ "$n2" = "$n1" ] || fail "second run made $((n2 - n1)) requests, expected 0 (recycle)"
[ "$(sums)" = "$first" ] || fail "recycled staples changed"
[ "$(sed -n '/=== second run/,$p' "$T/ocspd.log" | grep -c 'recycled')" -ge $ncerts ] ||
	fail "second run did not log 'recycled' for every certificate"
ok "second run recycled every staple, no request"

# 3. Responder down: still recycled, still exit 0.
stop_responder
oneoff
[ "$RC" = 0 ] || fail "run with the responder down and valid staples exited $RC"
[ "$(sums)" = "$first" ] || fail "staples changed while the responder was down"
ok "responder down: staples recycled, exit 0"
start_responder "$PKI" "$RESP_PORT"
base=$(responder_requests)

# 4. --no-recycle fetches all again.
oneoff --no-recycle
[ "$RC" = 0 ] || fail "--no-recycle run exited $RC"
n4=$(responder_requests)
[ $((n4 - base)) -ge $ncerts ] || fail "--no-recycle made $((n4 - base)) requests, expected >= $ncerts"
for c in $certs; do check_staple "$dir/$c.pem"; done
ok "--no-recycle fetched again ($((n4 - base)) requests)"

# 5. no-recycle = true in a config file does the same.
printf 'no-recycle = true\n' >"$T/norecycle.conf"
base=$(responder_requests)
oneoff -c "$T/norecycle.conf"
[ "$RC" = 0 ] || fail "no-recycle config run exited $RC"
[ $(($(responder_requests) - base)) -ge $ncerts ] || fail "no-recycle = true in the config file did not fetch again"
ok "no-recycle = true in the config file fetched again"

# 6. The responder gives 1-day responses; --minimum-validity 2 days makes them too short to keep.
base=$(responder_requests)
oneoff --minimum-validity 172800
[ $(($(responder_requests) - base)) -ge $ncerts ] ||
	fail "staples shorter than --minimum-validity were recycled"
for c in $certs; do check_staple "$dir/$c.pem"; done
ok "staples valid for less than --minimum-validity are fetched again"

# 7. A staple for a different certificate and a junk .ocsp are replaced, not recycled.
cp "$dir/good2.pem.ocsp" "$dir/good1.pem.ocsp"
echo junk >"$dir/good3.pem.ocsp"
base=$(responder_requests)
oneoff
[ "$RC" = 0 ] || fail "run over a wrong and a junk staple exited $RC"
[ $(($(responder_requests) - base)) -ge 2 ] || fail "wrong or junk staple was recycled"
check_staple "$dir/good1.pem"
check_staple "$dir/good3.pem"
ok "a staple for another certificate and a junk staple are replaced"
pass
