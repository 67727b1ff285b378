#!/bin/bash
# haproxy-config: --haproxy-config learns sockets and certificates from
# haproxy.cfg itself (issue 4).
#  - crt-base + a relative "crt DIR", a crt-list (relative and absolute lines,
#    options, comments), a second "crt" on the same bind line; an operator-level
#    stats socket next to the admin one is skipped; ocspd watching the same
#    files under other names (relative, through a symlink): every certificate
#    stapled;
#  - a config whose only stats socket is not "level admin" is a config error
#    (exit 2, says why); so is -s pointing at something that is not a socket;
#  - -s to a socket nobody listens on, with --one-off: ocspd does not hang,
#    says it gave up on that socket, and still writes the staples.
. "$(dirname "$0")/../lib.sh"
setup
make_pki
start_responder "$PKI" "$RESP_PORT"

base=$T/base
mkdir -p "$base/site" "$base/listed" "$T/abs"
cp "$CERTS/good1.pem" "$base/site/"
cp "$CERTS/good2.pem" "$base/listed/"
cp "$CERTS/good3.pem" "$T/abs/"
cp "$CERTS/deadfirst.pem" "$T/abs/"
cat >"$T/list.txt" <<EOF
# certificates of the second frontend
listed/good2.pem [alpn h2,http/1.1] good2.test
$T/abs/good3.pem
EOF
sock=$T/admin.sock
port1=$(free_port)
port2=$(free_port)
cat >"$T/haproxy.cfg" <<EOF
global
	crt-base $base
	stats socket $T/operator.sock level operator
	stats socket $sock mode 600 level admin
defaults
	mode http
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend one
	bind 127.0.0.1:$port1 ssl crt site crt $T/abs/deadfirst.pem
	http-request return status 200 content-type text/plain string one
frontend two
	bind 127.0.0.1:$port2 ssl crt-list $T/list.txt
	http-request return status 200 content-type text/plain string two
EOF
start_haproxy "$T/haproxy.cfg"

log=$T/ocspd.log
# Watched paths spelled relative to the working directory, through a symlink:
# ocspd must still find the certificates HAProxy names absolutely.
ln -s "$base" "$T/link"
cd "$T" || fail "cd $T"
start_ocspd "$log" --ca-file "$CA/root.pem" --haproxy-config "$T/haproxy.cfg" \
	link/site base/listed/ abs
pid=$OCSPD_PID
wait_for served_good "$port1" good1 || fail "good1 (crt-base + crt site): not stapled ($(served_staple "$port1" good1))"
wait_for served_good "$port1" deadfirst || fail "deadfirst (second crt on the bind line): not stapled"
wait_for served_good "$port2" good2 || fail "good2 (relative crt-list line): not stapled ($(served_staple "$port2" good2))"
wait_for served_good "$port2" good3 || fail "good3 (absolute crt-list line): not stapled"
grep -q "operator.sock" "$log" && grep "operator.sock" "$log" | grep -qv debug &&
	fail "the operator-level socket should be skipped quietly"
kill -0 $pid 2>/dev/null || fail "ocspd died"
stop_pid $pid TERM
ok "crt-base, crt, crt-list: every certificate stapled through the admin socket"

# Only an operator-level socket: a clear config error.
sed -e "/level admin/d" "$T/haproxy.cfg" >"$T/operator.cfg"
run_ocspd "$T/bad1.log" --ca-file "$CA/root.pem" --haproxy-config "$T/operator.cfg" "$base/site"
[ "$RC" = 2 ] || fail "operator-only haproxy.cfg: exit status $RC, expected 2"
grep -q "level admin" "$T/bad1.log" || fail "operator-only haproxy.cfg: the error does not mention 'level admin'"
ok "operator-only stats socket refused: $(head -1 "$T/bad1.log")"

# -s to a regular file: config error.
: >"$T/notasocket"
run_ocspd "$T/bad2.log" --ca-file "$CA/root.pem" -s "$base/site=$T/notasocket" "$base/site"
[ "$RC" = 2 ] || fail "-s to a regular file: exit status $RC, expected 2"
grep -q "not a unix socket" "$T/bad2.log" || fail "-s to a regular file: no 'not a unix socket' error"
ok "-s to a regular file refused: $(head -1 "$T/bad2.log")"

# -s to a socket that does not exist, --one-off: finishes, says so, staples written.
rm -f "$base/site/good1.pem.ocsp"
run_ocspd "$T/oneoff.log" --ca-file "$CA/root.pem" --one-off -s "$base/site=$T/nobody.sock" "$base/site"
[ "$RC" = 0 ] || fail "--one-off with an absent HAProxy socket: exit status $RC, expected 0"
grep -q "nobody.sock.*giving up" "$T/oneoff.log" || fail "--one-off: no 'giving up' line for the absent socket"
check_staple "$base/site/good1.pem"
ok "--one-off with HAProxy down: exits 0, staple on disk, socket given up"
pass
