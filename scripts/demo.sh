#!/bin/bash
# ocspd demo (make demo): a throw-away PKI in ./demo/, a real `openssl ocsp`
# responder on a free local port, one `ocspd --one-off` pass over demo/certs,
# then a table of what ended up next to each certificate, read back with
# `openssl ocsp -respin`. Good certificates get a verified staple; the revoked
# one, the one without an OCSP URL and the junk files are listed honestly.
set -u
cd "$(dirname "$0")/.."
OCSPD=${OCSPD:-./ocspd}
[ -x "$OCSPD" ] || { echo "demo: build ocspd first (make ocspd)" >&2; exit 1; }

demo=demo
rm -rf "$demo"
mkdir -p "$demo/home"
port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
url=http://127.0.0.1:$port/

echo "== test PKI in $demo/ (responder $url)"
LEAVES=3 tests/pki.sh "$demo" "$url" >/dev/null || exit 1
# The demo staples good certificates; the test suite's bad ones (revoked, no
# responder URL, junk) go to demo/rejected/ and get a pass of their own below.
mkdir -p "$demo/rejected"
for bad in revoked noaia notpem keyonly empty; do
	mv "$demo/certs/$bad.pem" "$demo/rejected/"
done

resp_pid=""
stop() {
	[ -n "$resp_pid" ] && kill "$resp_pid" 2>/dev/null && wait "$resp_pid" 2>/dev/null
	resp_pid=""
}
trap stop EXIT
trap 'exit 130' INT TERM

openssl ocsp -index "$demo/ca/index.txt" -port "$port" -rsigner "$demo/ca/ocsp.pem" \
	-rkey "$demo/ca/ocsp.key" -CA "$demo/ca/inter.pem" -ndays 1 >"$demo/responder.log" 2>&1 &
resp_pid=$!
for _ in $(seq 100); do
	grep -q "waiting for OCSP client connections" "$demo/responder.log" && break
	sleep 0.1
done
kill -0 "$resp_pid" 2>/dev/null || { echo "demo: openssl ocsp did not start" >&2; cat "$demo/responder.log"; exit 1; }

echo "== $OCSPD --one-off --ca-file $demo/ca/root.pem $demo/certs"
HOME=$PWD/$demo/home "$OCSPD" --one-off --ca-file "$demo/ca/root.pem" "$demo/certs" 2>&1 |
	tee "$demo/ocspd.log" | sed 's/^/   /'
rc=${PIPESTATUS[0]}
echo "== ocspd exited $rc (0: every certificate stapled, 1: some could not be)"
echo "== responder answered $(grep -c 'Received request' "$demo/responder.log") requests"
HOME=$PWD/$demo/home "$OCSPD" --one-off -q --ca-file "$demo/ca/root.pem" "$demo/rejected" \
	>"$demo/rejected.log" 2>&1
stop

# Last thing ocspd said about a file: "<time> ocspd <level>: <path>: <what>" -> "<what>".
# Matches "/name.pem: " so that relative and absolute paths both work.
said() {
	grep -F -- "/$1: " "$demo/ocspd.log" | tail -n 1 |
		sed -e "s|^.*/$1: ||" \
			-e 's/^staple \([a-z]*\) (good, .*renew at \(.*\))$/staple \1, renew at \2/' | cut -c 1-64
}

echo
printf '%-16s %-26s %-8s %-24s %-28s %s\n' CERTIFICATE RESPONDER STATUS "NEXT UPDATE" STAPLE "OCSPD SAID"
for cert in "$demo"/certs/*.pem; do
	name=$(basename "$cert")
	uris=$(openssl x509 -in "$cert" -noout -ocsp_uri 2>/dev/null)
	n=$(printf '%s' "$uris" | grep -c .)
	uri=$(printf '%s\n' "$uris" | head -n 1)
	[ "$n" -gt 1 ] && uri="$uri +$((n - 1))"
	[ -n "$uri" ] || uri=-
	staple=$cert.ocsp status=- next=- file=-
	if [ -s "$staple" ]; then
		file=${staple#"$demo"/}
		out=$(openssl ocsp -no_nonce -respin "$staple" -issuer "$demo/ca/inter.pem" \
			-cert "$cert" -CAfile "$demo/ca/root.pem" 2>&1)
		status=$(printf '%s\n' "$out" | sed -n "s|^$cert: ||p" | head -n 1)
		printf '%s\n' "$out" | grep -q '^Response verify OK' || status="UNVERIFIED $status"
		next=$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*Next Update: //p' | head -n 1)
		[ -n "$next" ] || next=-
	elif [ -e "$staple" ]; then
		file="${staple#"$demo"/} (empty)"
		status=none
	else
		status=none
	fi
	printf '%-16s %-26s %-8s %-24s %-28s %s\n' "$name" "$uri" "$status" "$next" "$file" "$(said "$name")"
done
echo
echo "Staples are DER OCSP responses; inspect one with:"
echo "  openssl ocsp -respin $demo/certs/good1.pem.ocsp -resp_text -noverify"
echo
echo "== what ocspd says about bad input ($demo/rejected: revoked, no AIA URL, junk):"
sed 's/^[^ ]* ocspd /   /' "$demo/rejected.log"
[ "$rc" -eq 0 ]
