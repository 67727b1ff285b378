#!/bin/bash
# fs-churn: the directory changes under a running daemon.
#  1. a bundle rewritten over and over, in place and in pieces (truncate,
#     half a PEM, the rest), alternating between two certificates: the daemon
#     survives and ends with a staple for the certificate finally in the file.
#  2. 2000 bundles created and 1980 of them deleted in a burst, then 2000
#     junk files the same way: the daemon survives, the 20 survivors end
#     with good staples, no temporary files.
. "$(dirname "$0")/../lib.sh"
setup
make_pki
start_responder "$PKI" "$RESP_PORT"
OPTS="--ca-file $CA/root.pem --timeout 5 --connect-timeout 2"
D=$T/certs
mkdir -p "$D"
cp "$CERTS/good1.pem" "$D/stable.pem"
start_ocspd "$T/daemon.log" $OPTS -r 1 "$D"
wait_for test -s "$D/stable.pem.ocsp" || fail "no first staple"

# ---- 1. rewritten while being read
half=$(( $(wc -c <"$CERTS/good2.pem") / 2 ))
for i in $(seq 1 40); do
	if [ $((i % 2)) = 0 ]; then src=$CERTS/good2.pem; else src=$CERTS/good3.pem; fi
	: >"$D/flip.pem"
	head -c "$half" "$src" >>"$D/flip.pem"
	sleep 0.0$((RANDOM % 5))
	tail -c +$((half + 1)) "$src" >>"$D/flip.pem"
done
# Last write: good2 (i = 40). Its staple must be for good2, not good3.
wait_for bash -c "[ \"\$(openssl ocsp -no_nonce -respin '$D/flip.pem.ocsp' -issuer '$CA/inter.pem' \
	-cert '$D/flip.pem' -CAfile '$CA/root.pem' 2>&1 | grep -c ': good')\" = 1 ]" ||
	fail "flip.pem: no staple for the certificate it finally holds ($(staple_status "$D/flip.pem"))"
check_staple "$D/flip.pem"
kill -0 "$OCSPD_PID" 2>/dev/null || fail "daemon died while a bundle was rewritten"
ok "rewritten 40 times in pieces: staple matches the final certificate"

# ---- 2. bursts
pem=$(<"$CERTS/good1.pem")
for i in {1..2000}; do printf '%s\n' "$pem" >"$D/b$i.pem"; done
rm -f "$D"/b{21..2000}.pem
for i in {1..2000}; do echo "junk $i" >"$D/junk$i.pem"; done
rm -f "$D"/junk{1..2000}.pem
kill -0 "$OCSPD_PID" 2>/dev/null || fail "daemon died in the burst"
for i in $(seq 1 20); do
	WAIT=60 wait_for test -s "$D/b$i.pem.ocsp" || fail "survivor b$i.pem never stapled"
	check_staple "$D/b$i.pem"
done
check_staple "$D/stable.pem"
kill -0 "$OCSPD_PID" 2>/dev/null || fail "daemon died after the burst"
stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "daemon exited $RC on SIGTERM"
no_temp_files burst "$D"
n=$(find "$D" -name 'b*.pem.ocsp' -size +0 | wc -l)
ok "burst: 20 survivors stapled ($n staples for b*.pem, deleted ones may keep theirs)"
pass
