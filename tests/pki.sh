#!/bin/sh
# Makes a throw-away test PKI with openssl, in about a second.
#
# Usage: tests/pki.sh DIR [RESPONDER_URL...]
#   RESPONDER_URL defaults to http://127.0.0.1:8888/ ; the first URL is the AIA
#   OCSP URL of every good leaf. Give the URL of the port you will run
#   `openssl ocsp` on (see start_responder in tests/lib.sh).
# Environment:
#   LEAVES=N       also make N extra good leaves certs/leaf1.pem .. leafN.pem
#   NOCHECK=0      leave the id-pkix-ocsp-nocheck extension out of ocsp.pem
#   DAYS=N         leaf validity in days (default 30)
#   DEAD_URL=URL   the dead responder of deadfirst.pem (default http://127.0.0.1:1/,
#                  port 1 is closed on any test machine: connection refused)
#
# Outputs (all PEM; EC P-256; one key shared by every leaf):
#   DIR/ca/root.pem root.key          self-signed root CA  (pass to --ca-file)
#   DIR/ca/inter.pem inter.key        intermediate CA, issues the leaves
#   DIR/ca/intermediate.pem           same as inter.pem
#   DIR/ca/ocsp.pem ocsp.key          delegated OCSP signer issued by inter
#                                     (EKU OCSPSigning, noCheck)
#   DIR/ca/chain.pem                  root.pem + inter.pem
#   DIR/ca/leaf.key                   the private key of every leaf
#   DIR/ca/index.txt (+ .attr)        status index for `openssl ocsp -index`
#   DIR/ca/urls                       the responder URLs, one per line
#   DIR/ca/serials                    "<name> <serial hex>" for every leaf
#   DIR/certs/<name>.pem              HAProxy bundles: leaf cert, inter cert, key
#                                     (DNS name <name>.test, CN <name>.test)
#       good1 good2 good3   good; AIA = first URL; good3 has the order
#                           key, leaf, inter (HAProxy reads any key position)
#       deadfirst           good; AIA = DEAD_URL first, then the URLs
#       issuerfile          good; leaf + key only, the intermediate is in
#                           certs/issuerfile.pem.issuer (HAProxy convention)
#       revoked             revoked in the index (keyCompromise)
#       noaia               good but no AIA extension: ocspd must say so
#       notpem              text, not PEM
#       keyonly             a private key only
#       empty               zero bytes
#       leaf1..leafN        (LEAVES=N) good, AIA = first URL
#   Good leaves (good staple expected): good1 good2 good3 deadfirst issuerfile leaf*
#   DIR/ca/leaves/<name>.crt          the bare leaf certificate of each bundle
#                                     (kept out of certs/ so watching certs/
#                                     sees only the bundles above)
set -eu

[ $# -ge 1 ] || { echo "usage: $0 DIR [RESPONDER_URL...]" >&2; exit 2; }
dir=$1
shift
[ $# -ge 1 ] || set -- http://127.0.0.1:8888/
leaves=${LEAVES:-0}
days=${DAYS:-30}
dead=${DEAD_URL:-http://127.0.0.1:1/}
ca=$dir/ca
certs=$dir/certs
mkdir -p "$ca/leaves" "$certs"
printf '%s\n' "$@" >"$ca/urls"

aia() {	# aia URL... -> authorityInfoAccess value
	out=""
	for u in "$@"; do out="$out${out:+,}OCSP;URI:$u"; done
	printf '%s' "$out"
}

cat >"$ca/openssl.cnf" <<'EOF'
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ root ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ inter ]
basicConstraints = critical,CA:true,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ ocsp ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = OCSPSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
# noCheck (unless NOCHECK=0) and a leaf's authorityInfoAccess (unless it has
# no URL) come from -addext.
[ leaf ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = $ENV::SAN
EOF
export SAN=DNS:unused
cnf=$ca/openssl.cnf

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key "$ca/root.key"
key "$ca/inter.key"
key "$ca/ocsp.key"
key "$ca/leaf.key"
chmod 600 "$ca"/*.key

openssl req -new -x509 -config "$cnf" -extensions root -key "$ca/root.key" \
	-subj "/O=ocspd test/CN=ocspd test root" -days 3650 -set_serial 0x01 -out "$ca/root.pem"
openssl req -new -config "$cnf" -extensions inter -key "$ca/inter.key" \
	-subj "/O=ocspd test/CN=ocspd test intermediate" -days 3650 -set_serial 0x02 \
	-CA "$ca/root.pem" -CAkey "$ca/root.key" -out "$ca/inter.pem"
nocheck=noCheck=ignored
[ "${NOCHECK:-1}" = 0 ] && nocheck=
openssl req -new -config "$cnf" -extensions ocsp ${nocheck:+-addext "$nocheck"} -key "$ca/ocsp.key" \
	-subj "/O=ocspd test/CN=ocspd test OCSP responder" -days 3650 -set_serial 0x03 \
	-CA "$ca/inter.pem" -CAkey "$ca/inter.key" -out "$ca/ocsp.pem"
cp "$ca/inter.pem" "$ca/intermediate.pem"
cat "$ca/root.pem" "$ca/inter.pem" >"$ca/chain.pem"

# index.txt: V|R, expiry, revocation, serial, file, subject (tab separated).
: >"$ca/index.txt"
echo "unique_subject = no" >"$ca/index.txt.attr"
: >"$ca/serials"
expiry=$(date -u -d "+$days days" +%y%m%d%H%M%SZ)
revtime=$(date -u -d "-1 hour" +%y%m%d%H%M%SZ)
serial=4096	# 0x1000; serials stay 4 hex digits (even length, as index.txt wants)

# leaf NAME LAYOUT [AIA URL...]   (no URL: no authorityInfoAccess at all)
#   LAYOUT: std (leaf inter key), keyfirst (key leaf inter), issuerfile (leaf key + .issuer)
leaf() {
	name=$1 layout=$2
	shift 2
	serial=$((serial + 1))
	hex=$(printf '%04X' $serial)
	crt=$ca/leaves/$name.crt
	aia_ext=$(aia "$@")
	SAN=DNS:$name.test openssl req -new -config "$cnf" -extensions leaf \
		${aia_ext:+-addext "authorityInfoAccess=$aia_ext"} \
		-key "$ca/leaf.key" -subj "/O=ocspd test/CN=$name.test" -days "$days" \
		-set_serial "0x$hex" -CA "$ca/inter.pem" -CAkey "$ca/inter.key" -out "$crt"
	case $layout in
	std) cat "$crt" "$ca/inter.pem" "$ca/leaf.key" ;;
	keyfirst) cat "$ca/leaf.key" "$crt" "$ca/inter.pem" ;;
	issuerfile)
		cat "$crt" "$ca/leaf.key"
		cp "$ca/inter.pem" "$certs/$name.pem.issuer" ;;
	esac >"$certs/$name.pem"
	printf '%s %s\n' "$name" "$hex" >>"$ca/serials"
	subj="/O=ocspd test/CN=$name.test"
	if [ "$name" = revoked ]; then
		printf 'R\t%s\t%s,keyCompromise\t%s\tunknown\t%s\n' "$expiry" "$revtime" "$hex" "$subj"
	else
		printf 'V\t%s\t\t%s\tunknown\t%s\n' "$expiry" "$hex" "$subj"
	fi >>"$ca/index.txt"
}

first=$1
leaf good1 std "$first"
leaf good2 std "$first"
leaf good3 keyfirst "$first"
leaf deadfirst std "$dead" "$@"
leaf issuerfile issuerfile "$first"
leaf revoked std "$first"
leaf noaia std
i=1
while [ "$i" -le "$leaves" ]; do
	leaf "leaf$i" std "$first"
	i=$((i + 1))
done

echo "this is not a certificate" >"$certs/notpem.pem"
cp "$ca/leaf.key" "$certs/keyonly.pem"
: >"$certs/empty.pem"
chmod 600 "$certs"/*.pem
