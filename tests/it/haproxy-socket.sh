#!/bin/bash
# haproxy-socket: staples reach a running HAProxy 2.6 over its admin socket
# (issue 4), mapped with -s DIR=SOCKET.
#  - good1 loaded with an empty .ocsp, good2 and good3 with no .ocsp at all:
#    s_client -status shows a good staple for every one (the second pair
#    needs "set ssl cert <crt>.ocsp" + "commit ssl cert");
#  - a renewed staple (ocspd restarted with --no-recycle) is the one served;
#  - HAProxy restarted (new process, same socket) with its staples gone:
#    ocspd reconnects and pushes every staple again, from memory.
. "$(dirname "$0")/../lib.sh"
setup
make_pki
start_responder "$PKI" "$RESP_PORT"

site=$T/site
mkdir -p "$site"
cp "$CERTS/good1.pem" "$CERTS/good2.pem" "$CERTS/good3.pem" "$site/"
: >"$site/good1.pem.ocsp"
sock=$T/admin.sock
port=$(free_port)
write_haproxy_cfg "$T/haproxy.cfg" "$sock" "$port" "$site"

start_haproxy "$T/haproxy.cfg"
for n in good1 good2 good3; do
	served_staple "$port" "$n" | grep -q "OCSP Response Status" && fail "$n: HAProxy staples something before ocspd ran"
done
ok "haproxy serves good1..3 without staples"

log=$T/ocspd.log
start_ocspd "$log" --ca-file "$CA/root.pem" -s "$site=$sock" "$site"
pid=$OCSPD_PID
for n in good1 good2 good3; do
	wait_for served_good "$port" $n || fail "$n: HAProxy does not staple a good response (served: $(served_staple "$port" $n))"
	check_staple "$site/$n.pem"
done
grep -q "staple attached in HAProxy" "$log" || fail "no 'set ssl cert' fallback logged for the certificates loaded without .ocsp"
ok "every certificate stapled in HAProxy, with and without a .ocsp at load time"

# A renewed staple is the one served: restart ocspd without recycling.
sleep 1.1	# This Update has a one-second resolution
old=$(this_update_served "$port" good2)
stop_pid $pid TERM
[ "$RC" = 0 ] || fail "ocspd exit status $RC after SIGTERM"
start_ocspd "$T/ocspd2.log" --ca-file "$CA/root.pem" --no-recycle -s "$site=$sock" "$site"
pid=$OCSPD_PID
wait_for served_renewed "$port" good2 "$site/good2.pem.ocsp" "$old" ||
	fail "good2: served This Update '$(this_update_served "$port" good2)', file '$(this_update_file "$site/good2.pem.ocsp")', before '$old'"
ok "renewed staple served (This Update $old -> $(this_update_served "$port" good2))"

# HAProxy restarted with the staples gone from disk (as if it had started
# before they were written): ocspd must push them again from memory. good3's
# .ocsp is removed altogether, so it needs the set/commit path again.
stop_pid $HAPROXY_PID TERM
: >"$site/good1.pem.ocsp"
: >"$site/good2.pem.ocsp"
rm -f "$site/good3.pem.ocsp"
start_haproxy "$T/haproxy.cfg"
for n in good1 good2 good3; do
	wait_for served_good "$port" $n || fail "$n: not stapled again after the HAProxy restart (served: $(served_staple "$port" $n))"
done
kill -0 $pid 2>/dev/null || fail "ocspd died"
ok "HAProxy restarted: every staple pushed again"

stop_pid $pid TERM
[ "$RC" = 0 ] || fail "ocspd exit status $RC after SIGTERM"
pass
