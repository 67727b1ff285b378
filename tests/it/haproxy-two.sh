#!/bin/bash
# haproxy-two: one directory served by two HAProxy processes, each with its
# own admin socket (-s DIR=SOCKET twice; issue 4).
#  - --one-off waits until both have answered: when it exits, both staple
#    every certificate (none had a .ocsp when HAProxy loaded it);
#  - the daemon keeps both in step, and when one is stopped the other is
#    still served and ocspd keeps running.
. "$(dirname "$0")/../lib.sh"
setup
LEAVES=3 make_pki
start_responder "$PKI" "$RESP_PORT"

site=$T/site
mkdir -p "$site"
names="good1 good2 leaf1 leaf2 leaf3"
for n in $names; do cp "$CERTS/$n.pem" "$site/"; done

start_haproxy_n() {	# N: haproxy number N on port PORTN, socket $T/adminN.sock, pid HPIDN
	local port
	port=$(free_port)
	eval "port$1=$port"
	write_haproxy_cfg "$T/haproxy$1.cfg" "$T/admin$1.sock" "$port" "$site"
	start_haproxy "$T/haproxy$1.cfg"
	eval "hpid$1=$HAPROXY_PID"
}

start_haproxy_n 1
start_haproxy_n 2

# --one-off: when it exits, both processes must already staple everything.
run_ocspd "$T/oneoff.log" --ca-file "$CA/root.pem" --one-off \
	-s "$site=$T/admin1.sock" -s "$site=$T/admin2.sock" "$site"
[ "$RC" = 0 ] || fail "--one-off exit status $RC"
for n in $names; do
	served_good "$port1" $n || fail "haproxy 1: $n not stapled when --one-off returned ($(served_staple "$port1" $n))"
	served_good "$port2" $n || fail "haproxy 2: $n not stapled when --one-off returned ($(served_staple "$port2" $n))"
done
ok "--one-off: both HAProxy processes staple all $(echo $names | wc -w) certificates on exit"

# Daemon: both restarted with no staples on disk; ocspd pushes to both.
stop_pid $hpid1 TERM
stop_pid $hpid2 TERM
rm -f "$site"/*.ocsp
start_haproxy_n 1
start_haproxy_n 2
start_ocspd "$T/ocspd.log" --ca-file "$CA/root.pem" --no-recycle \
	-s "$site=$T/admin1.sock" -s "$site=$T/admin2.sock" "$site"
pid=$OCSPD_PID
for n in $names; do
	wait_for served_good "$port1" $n || fail "haproxy 1: $n not stapled by the daemon"
	wait_for served_good "$port2" $n || fail "haproxy 2: $n not stapled by the daemon"
done
ok "daemon: both HAProxy processes staple everything"

stop_pid $hpid2 TERM
wait_log "$T/ocspd.log" "admin2.sock: HAProxy admin connection lost" || fail "no log line for the lost connection"
sleep 1
kill -0 $pid 2>/dev/null || fail "ocspd died when a HAProxy stopped"
served_good "$port1" good1 || fail "haproxy 1 lost its staple"
stop_pid $pid TERM
[ "$RC" = 0 ] || fail "ocspd exit status $RC after SIGTERM"
ok "one HAProxy gone: logged, the daemon and the other HAProxy carry on"
pass
