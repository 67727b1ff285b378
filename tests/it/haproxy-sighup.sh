#!/bin/bash
# haproxy-sighup: SIGHUP re-reads the config file without starting delivery
# over (issue 7).
#  - at first only site1/good1.pem is mapped to HAProxy 1 (which serves all
#    of site1); then on SIGHUP an unrelated option changes, the map widens
#    to site1, a directory and its HAProxy 2 admin socket are added and
#    --hook changes: the connection to HAProxy 1 is the same one (same
#    socket inode, never reconnected), good1 is not pushed to it again, only
#    the newly mapped good2 is; site1's staples on disk are untouched (bytes
#    and mtime); the new directory is stapled and pushed to HAProxy 2, which
#    serves it; the old hook's run under way at SIGHUP finishes and is
#    reaped, then the new hook command runs for that change (never both at
#    once), the old one no more; /metrics counts each push once by outcome;
#  - the directory and socket removed again: its certificates are forgotten
#    (their files stay), the connection to the second HAProxy is closed;
#  - a broken config (unknown key, or a socket path that is a plain file):
#    "configuration not reloaded" with the reason, the daemon goes on with
#    the same connection.
. "$(dirname "$0")/../lib.sh"
setup
make_pki
start_responder "$PKI" "$RESP_PORT"

site1=$T/site1
site2=$T/site2
mkdir -p "$site1" "$site2"
cp "$CERTS/good1.pem" "$CERTS/good2.pem" "$site1/"
: >"$site1/good1.pem.ocsp"
: >"$site1/good2.pem.ocsp"
cp "$CERTS/good3.pem" "$site2/"		# no .ocsp: HAProxy needs set ssl cert + commit
sock1=$T/admin1.sock
sock2=$T/admin2.sock
port1=$(free_port)
port2=$(free_port)
write_haproxy_cfg "$T/haproxy1.cfg" "$sock1" "$port1" "$site1"
write_haproxy_cfg "$T/haproxy2.cfg" "$sock2" "$port2" "$site2"
start_haproxy "$T/haproxy1.cfg"
hpid1=$HAPROXY_PID
start_haproxy "$T/haproxy2.cfg"
hpid2=$HAPROXY_PID

# The inode of ocspd's end of its connection to HAProxy pid $1 (ss -x lists
# both ends: HAProxy's end names ours as its peer).
conn_to() {
	ss -xpn | awk -v o="pid=$OCSPD_PID," -v h="pid=$1," '
		index($0, h) { peer[$8] = 1 }
		index($0, o) { mine[$6] = 1 }
		END { for (i in mine) if (i in peer) print i }'
}
pushed_to() { count_log "$log" "$1: staple pushed to HAProxy $sock1\$"; }	# CERT
pushes() {	# RESULT: ocspd_haproxy_pushes_total{result=RESULT}
	curl -s "http://127.0.0.1:$sport/metrics" |
		sed -n "s/^ocspd_haproxy_pushes_total{result=\"$1\"} //p"
}

# The hooks: one line per changed path in hook.txt; the old one is slow, so
# that the reload comes while it runs; the new one notes an overlap.
cat >"$T/old-hook.sh" <<'EOF'
#!/bin/sh
d=$(dirname "$0")
: >"$d/running"
sed 's/^/old:/' >>"$d/hook.txt"
sleep 3
rm -f "$d/running"
EOF
cat >"$T/new-hook.sh" <<'EOF'
#!/bin/sh
d=$(dirname "$0")
[ -e "$d/running" ] && echo OVERLAP >>"$d/hook.txt"
sed 's/^/new:/' >>"$d/hook.txt"
EOF
chmod +x "$T/old-hook.sh" "$T/new-hook.sh"

conf=$T/ocspd.conf
write_conf() {	# MINIMUM-VALIDITY HOOK CERT-PATHS HAPROXY-SOCKETS
	printf 'cert-paths = %s\nhaproxy-sockets = %s\nca-file = %s\nminimum-validity = %s\nhook = %s\n' \
		"$3" "$4" "$CA/root.pem" "$1" "$2" >"$conf"
}
write_conf 7200 "$T/old-hook.sh" "$site1" "$site1/good1.pem=$sock1"
log=$T/ocspd.log
sport=$(free_port)
start_ocspd "$log" -v --status-listen "127.0.0.1:$sport" -c "$conf"
wait_for served_good "$port1" good1 || fail "good1: not stapled by HAProxy 1 (served: $(served_staple "$port1" good1))"
wait_for check_staple "$site1/good2.pem" || fail "good2: no staple on disk"
wait_for grep -q "^old:$site1/good2.pem\$" "$T/hook.txt" || fail "the old hook did not run"
served_staple "$port1" good2 | grep -q "OCSP Response Status" && fail "good2 pushed to HAProxy 1 before it is mapped"
[ "$(pushed_to "$site1/good1.pem")" = 1 ] || fail "good1: not 1 push to $sock1: $(pushed_to "$site1/good1.pem")"
conn1=$(conn_to $hpid1)
[ "$(echo "$conn1" | wc -w)" = 1 ] || fail "not one connection from ocspd to HAProxy 1: '$conn1'"
[ -z "$(conn_to $hpid2)" ] || fail "connected to HAProxy 2 before it is configured"
mkdir "$T/saved"
cp -p "$site1"/*.ocsp "$T/saved/"
mtimes=$(stat -c '%n %y' "$site1"/*.ocsp)
old_runs=$(grep -c '^old:' "$T/hook.txt")
test -e "$T/running" || fail "the old hook is already over: cannot reload during its run"
ok "HAProxy 1 staples good1 over connection $conn1; old hook running"

# 1. SIGHUP: minimum-validity and hook changed, site1 -> HAProxy 1 instead of
#    good1 alone, site2 -> HAProxy 2 added.
write_conf 7000 "$T/new-hook.sh" "$site1, $site2" "$site1=$sock1, $site2=$sock2"
kill -HUP $OCSPD_PID
wait_log "$log" "SIGHUP: configuration reloaded" || fail "no reload logged"
wait_for served_good "$port1" good2 || fail "good2: not pushed to HAProxy 1 once mapped (served: $(served_staple "$port1" good2))"
wait_for served_good "$port2" good3 || fail "good3: not stapled by HAProxy 2 after SIGHUP (served: $(served_staple "$port2" good3))"
check_staple "$site2/good3.pem"
wait_for grep -q "^new:$site2/good3.pem\$" "$T/hook.txt" || fail "the new hook did not run for good3"
sleep 1		# a re-push or an old-hook run would have shown by now
kill -0 $OCSPD_PID 2>/dev/null || fail "ocspd died on SIGHUP"
[ "$(conn_to $hpid1)" = "$conn1" ] || fail "connection to HAProxy 1 changed: '$conn1' -> '$(conn_to $hpid1)'"
[ "$(count_log "$log" "$sock1: HAProxy admin socket connected")" = 1 ] || fail "reconnected to $sock1"
[ "$(pushed_to "$site1/good1.pem")" = 1 ] || fail "good1 pushed to HAProxy 1 again: $(pushed_to "$site1/good1.pem") pushes"
[ "$(pushed_to "$site1/good2.pem")" = 1 ] || fail "good2: $(pushed_to "$site1/good2.pem") pushes to HAProxy 1, expected 1"
served_good "$port1" good1 || fail "good1: HAProxy 1 no longer staples it"
staples_kept "after SIGHUP" "$site1" "$T/saved" good1 good2
[ "$(stat -c '%n %y' "$site1"/*.ocsp)" = "$mtimes" ] || fail "site1 staples rewritten: $(stat -c '%n %y' "$site1"/*.ocsp)"
[ "$(grep -c '^old:' "$T/hook.txt")" = "$old_runs" ] || fail "the old hook ran after SIGHUP: $(cat "$T/hook.txt")"
grep -q OVERLAP "$T/hook.txt" && fail "the new hook ran while the old one was still running"
[ "$(count_log "$log" "hook: done")" = 2 ] || fail "not 2 hook runs reaped: $(count_log "$log" "hook: done")"
conn2=$(conn_to $hpid2)
[ -n "$conn2" ] || fail "no connection to HAProxy 2"
[ "$(pushes updated) $(pushes committed) $(pushes failed)" = "2 1 0" ] ||
	fail "/metrics pushes updated, committed, failed: $(pushes updated) $(pushes committed) $(pushes failed), expected 2 1 0"
ok "SIGHUP: HAProxy 1 kept ($conn1, only good2 pushed, staples untouched); site2 pushed to HAProxy 2; new hook ran"

# 2. SIGHUP with site2 removed: forgotten, its files left, HAProxy 2 let go.
write_conf 7000 "$T/new-hook.sh" "$site1" "$site1=$sock1"
kill -HUP $OCSPD_PID
wait_log "$log" "$site2/good3.pem: certificate gone; forgotten" || fail "site2's certificate not forgotten"
wait_log "$log" "$sock2: HAProxy admin socket no longer configured" || fail "no word of closing $sock2"
wait_for eval '[ -z "$(conn_to $hpid2)" ]' || fail "still connected to HAProxy 2: $(conn_to $hpid2)"
[ -f "$site2/good3.pem" ] && [ -s "$site2/good3.pem.ocsp" ] || fail "site2's files were touched: $(ls -l "$site2")"
[ "$(conn_to $hpid1)" = "$conn1" ] || fail "connection to HAProxy 1 changed on the second SIGHUP"
ok "SIGHUP without site2: forgotten, files kept, HAProxy 2 connection closed"

# 3. Broken configs: an unknown key, then a socket path that is a plain file.
broken() {	# what-to-expect: reported, still running, same connection, no reload
	local n
	n=$(count_log "$log" "SIGHUP: configuration reloaded")
	kill -HUP $OCSPD_PID
	wait_log "$log" "SIGHUP: configuration not reloaded \\($1" || fail "no 'configuration not reloaded ($1' in the log"
	sleep 0.5
	kill -0 $OCSPD_PID 2>/dev/null || fail "ocspd died on a broken config"
	[ "$(count_log "$log" "SIGHUP: configuration reloaded")" = "$n" ] || fail "a broken config was loaded"
	[ "$(conn_to $hpid1)" = "$conn1" ] || fail "connection to HAProxy 1 changed on a broken config"
}
lines=$(wc -l <"$conf")
echo "no-such-key = 1" >>"$conf"
broken "$conf:$((lines + 1)): unknown key \"no-such-key\""
ok "unknown key: not reloaded (file and line named), same connection"
: >"$T/plain"
write_conf 7000 true "$site1" "$site1=$T/plain"
broken "$T/plain: not a unix socket"
[ "$(pushed_to "$site1/good1.pem") $(pushed_to "$site1/good2.pem")" = "1 1" ] ||
	fail "staples pushed to HAProxy 1 again after the broken reloads"
ok "socket path not a socket: not reloaded, same connection"

stop_pid $OCSPD_PID TERM
[ "$RC" = 0 ] || fail "ocspd exit status $RC after SIGTERM"
pass
