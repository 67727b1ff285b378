#!/bin/bash
# core-oneoff: one pass over a directory (issue 3).
#  - every good certificate (plain, key-first, dead responder first, issuer in
#    a .issuer file) gets a staple that `openssl ocsp -respin` verifies as good;
#  - exit 0 when all are stapled, 1 when one is revoked or broken;
#  - the revoked one gets no staple and an error line; the one without an OCSP
#    URL and each junk file get exactly one error line naming it, and do not
#    stop the others; nothing but <cert>.ocsp files is created, nothing else
#    is modified, no temporary file is left behind.
. "$(dirname "$0")/../lib.sh"
setup
make_pki
start_responder "$PKI" "$RESP_PORT"

good="good1 good2 good3 deadfirst issuerfile"
bad="revoked noaia notpem keyonly empty"

# 1. A directory of good certificates only: exit 0, all stapled.
mkdir "$T/good"
for c in $good; do cp "$CERTS/$c.pem" "$T/good/"; done
cp "$CERTS/issuerfile.pem.issuer" "$T/good/"
run_ocspd "$T/ocspd-good.log" --one-off --ca-file "$CA/root.pem" "$T/good"
[ "$RC" = 0 ] || fail "one-off over good certificates exited $RC, expected 0"
for c in $good; do
	check_staple "$T/good/$c.pem"
done
ok "good certificates stapled, exit 0"
[ "$(count_log "$T/ocspd-good.log" 'ocspd error:')" = 0 ] || fail "error lines for good certificates"
# deadfirst: the dead URL is reported as a warning naming it, then the next URL works.
grep -E 'ocspd warning: .*deadfirst\.pem: http://127\.0\.0\.1:1/' "$T/ocspd-good.log" >/dev/null ||
	fail "no warning naming deadfirst.pem and its dead responder URL"
ok "dead first responder reported as a warning"

# 2. The whole PKI directory: good ones stapled, the rest reported, exit 1.
sums_before=$(cd "$CERTS" && sha256sum -- * | sort)
run_ocspd "$T/ocspd-all.log" --one-off --ca-file "$CA/root.pem" "$CERTS"
log=$T/ocspd-all.log
[ "$RC" = 1 ] || fail "one-off with revoked and junk certificates exited $RC, expected 1"
for c in $good; do
	check_staple "$CERTS/$c.pem"
done
ok "good certificates stapled despite the bad ones"
for c in $bad; do
	no_staple "$CERTS/$c.pem"
done
ok "no staple for revoked, noaia and junk"
grep -Ei 'ocspd error: .*/revoked\.pem: .*revoked' "$log" >/dev/null ||
	fail "no error line saying revoked.pem is revoked"
for c in noaia notpem keyonly empty; do
	n=$(count_log "$log" "ocspd error: .*/$c\.pem: ")
	[ "$n" = 1 ] || fail "$c.pem: $n error lines naming it, expected exactly 1"
done
ok "one error line each for noaia, notpem, keyonly, empty"
for c in $good; do
	[ "$(count_log "$log" "ocspd error: .*/$c\.pem: ")" = 0 ] || fail "error line for $c.pem"
done

# Nothing but .ocsp files was created; the operator's files are untouched.
sums_after=$(cd "$CERTS" && sha256sum -- $(ls | grep -v '\.ocsp$') | sort)
[ "$sums_before" = "$sums_after" ] || fail "certificate files changed or files were created"
leftover=$(find "$CERTS" "$T/good" -name '*ocspd-tmp*')
[ -z "$leftover" ] || fail "temporary files left behind: $leftover"
extra=$(cd "$CERTS" && ls | grep '\.ocsp$' | grep -Ev '^[a-z0-9]+\.pem\.ocsp$')
[ -z "$extra" ] || fail "unexpected files: $extra"
ok "certificate files untouched, no temporary files"

# 3. A single certificate file given as the path works too.
rm -f "$CERTS/good1.pem.ocsp"
run_ocspd "$T/ocspd-file.log" --one-off --ca-file "$CA/root.pem" "$CERTS/good1.pem"
[ "$RC" = 0 ] || fail "one-off on a single file exited $RC"
check_staple "$CERTS/good1.pem"
ok "a file path is accepted"
pass
