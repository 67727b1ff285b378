#!/bin/bash
# haproxy-reload: a master-worker HAProxy reloaded (SIGUSR2 to the master, as
# "systemctl reload haproxy" does) while ocspd holds its admin connection
# (issue 4).
#  - the admin socket is handed to the new worker, but ocspd's open connection
#    stays with the old one, which then reports "Stopping: 1": ocspd notices
#    (periodic "show info"), lets go, so the old worker can exit instead of
#    lingering for the CLI timeout, and pushes every staple to the new worker;
#  - the new worker loaded empty .ocsp files: it staples only what ocspd pushed.
. "$(dirname "$0")/../lib.sh"
setup
make_pki
start_responder "$PKI" "$RESP_PORT"

site=$T/site
mkdir -p "$site"
cp "$CERTS/good1.pem" "$CERTS/good2.pem" "$site/"
sock=$T/admin.sock
port=$(free_port)
write_haproxy_cfg "$T/haproxy.cfg" "$sock" "$port" "$site"
start_haproxy -W "$T/haproxy.cfg"
master=$HAPROXY_PID
worker_pid() { haproxy_pid "$sock"; }	# the worker answering a new connection
old=$(worker_pid)

log=$T/ocspd.log
start_ocspd "$log" --ca-file "$CA/root.pem" -s "$site=$sock" "$site"
pid=$OCSPD_PID
for n in good1 good2; do
	wait_for served_good "$port" $n || fail "$n: not stapled before the reload"
done
ok "stapled in worker $old"

# Reload with the staples gone from disk: the new worker starts without them.
: >"$site/good1.pem.ocsp"
rm -f "$site/good2.pem.ocsp"
kill -USR2 $master
wait_for eval '[ -n "$(worker_pid)" ] && [ "$(worker_pid)" != "$old" ]' || fail "no new worker after SIGUSR2"
new=$(worker_pid)
WAIT=30 wait_for eval "! kill -0 $old 2>/dev/null" ||
	fail "old worker $old still alive 30 s after the reload: ocspd keeps it busy"
grep -q "process $old is stopping" "$log" || fail "ocspd did not log that worker $old was stopping"
for n in good1 good2; do
	wait_for served_good "$port" $n || fail "$n: not stapled by the new worker $new ($(served_staple "$port" $n))"
done
kill -0 $pid 2>/dev/null || fail "ocspd died"
stop_pid $pid TERM
[ "$RC" = 0 ] || fail "ocspd exit status $RC"
ok "reload: old worker $old released and gone, new worker $new staples everything"
pass
