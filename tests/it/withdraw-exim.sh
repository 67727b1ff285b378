#!/bin/bash
# withdraw-exim: the README's Exim recipe (issue 15). Debian's Exim 4.96
# (exim4-daemon-light, GnuTLS) fails every STARTTLS handshake when
# tls_ocsp_file names an empty file, so it never names ocspd's .ocsp:
# ocspd's --hook is `contrib/ocspd-stapling-switch -f exim DIR ...`, which
# keeps DIR/NAME.der a copy of a valid staple or removes it, and
#     tls_ocsp_file = ${if exists{DIR/NAME.der}{DIR/NAME.der}}
# staples it only while it exists. Two standalone Exim daemons on free
# ports, one certificate each:
#  - both staple a good response once ocspd has one;
#  - the responder says good1 is revoked: after ocspd's next attempt and a
#    SIGHUP, good1's Exim completes STARTTLS with no staple, good2's still
#    staples a good one;
#  - good1's Exim restarted: STARTTLS still succeeds, no staple.
. "$(dirname "$0")/../lib.sh"
setup
command -v exim4 >/dev/null || fail "exim4 not installed (scripts/deps.sh installs exim4-daemon-light)"
id Debian-exim >/dev/null 2>&1 || fail "no Debian-exim user (exim4-daemon-light)"
make_pki
start_responder "$PKI" "$RESP_PORT" -nmin 10

# Exim runs its SMTP sessions as Debian-exim: it must reach the files.
chmod 755 "$T"
site=$T/site
inc=$T/staples
mkdir -p "$site" "$inc"
chmod 755 "$site" "$inc"
cp "$CERTS/good1.pem" "$CERTS/good2.pem" "$site/"
chgrp Debian-exim "$site"/*.pem
chmod 640 "$site"/*.pem

start_exim() {	# NAME: Exim for NAME.pem on port PORT_NAME, pid file $T/exim-NAME/exim.pid
	local name=$1 dir=$T/exim-$1 port der
	port=$(eval echo "\${port_$name:-}")
	if [ -z "$port" ]; then
		port=$(free_port)
		eval "port_$name=$port"
	fi
	der=$inc/$(printf '%s' "$site/$name.pem" | tr / _).der
	mkdir -p "$dir/spool" "$dir/log"
	chown -R Debian-exim:Debian-exim "$dir/spool" "$dir/log"
	cat >"$dir/exim.conf" <<EOF
primary_hostname = $name.test
local_interfaces = 127.0.0.1
spool_directory = $dir/spool
log_file_path = $dir/log/%slog
exim_user = Debian-exim
exim_group = Debian-exim
tls_advertise_hosts = *
tls_certificate = $site/$name.pem
tls_privatekey = $site/$name.pem
tls_ocsp_file = \${if exists{$der}{$der}}
begin acl
begin routers
begin transports
EOF
	chmod 644 "$dir/exim.conf"
	rm -f "$dir/exim.pid"
	# -bdf: in the foreground, so that the pid tracked (and cleaned up) is the daemon
	exim4 -C "$dir/exim.conf" -bdf -oX "$port" -oP "$dir/exim.pid" >>"$dir/out.log" 2>&1 &
	track $!
	wait_for eval '[ -s "$dir/exim.pid" ] && starttls $name >/dev/null' ||
		fail "exim for $name did not start: $(tail -n 3 "$dir/out.log" "$dir/log/mainlog" 2>/dev/null)"
}
# starttls NAME: prints good | none | other; fails when the handshake does not complete.
starttls() {
	local out port
	port=$(eval echo "\$port_$1")
	out=$(echo QUIT | timeout 10 openssl s_client -connect "127.0.0.1:$port" -starttls smtp \
		-servername "$1.test" -status 2>&1)
	printf '%s\n' "$out" | grep -q "^New, TLS" || return 1
	if printf '%s\n' "$out" | grep -q "OCSP response: no response sent"; then
		echo none
	elif printf '%s\n' "$out" | grep -q "Cert Status: good"; then
		echo good
	else
		echo other
	fi
}
is() { [ "$(starttls "$1")" = "$2" ]; }
hup() { kill -HUP "$(cat "$T/exim-$1/exim.pid")"; }

start_exim good1
start_exim good2
is good1 none || fail "good1: not a plain STARTTLS before any staple ($(starttls good1))"
ok "Exim starts and completes STARTTLS before any staple exists"

start_ocspd "$T/ocspd.log" --ca-file "$CA/root.pem" --minimum-validity 590 \
	--hook "$ROOT/contrib/ocspd-stapling-switch -f exim $inc" "$site"
for n in good1 good2; do
	wait_for is $n good || fail "$n: Exim does not staple it ($(starttls $n))"
done
ok "both Exim daemons staple a good response"

stop_responder
revoke_in_index "$CA" good1
start_responder "$PKI" "$RESP_PORT" -nmin 10
wait_log "$T/ocspd.log" "good1.pem: certificate revoked" || fail "ocspd did not see the revocation"
# Exim expands tls_ocsp_file per connection: the staple goes without a reload.
wait_for is good1 none || fail "good1 (revoked): Exim still sends ($(starttls good1 || echo 'STARTTLS failed'))"
[ ! -e "$inc/$(printf %s "$site/good1.pem" | tr / _).der" ] || fail "the hook kept good1's staple copy"
hup good1
hup good2
sleep 1
wait_for is good1 none || fail "good1 (revoked) after SIGHUP: ($(starttls good1 || echo 'STARTTLS failed'))"
is good2 good || fail "good2 after SIGHUP: ($(starttls good2 || echo 'STARTTLS failed'))"
ok "revoked: after SIGHUP good1's Exim completes STARTTLS with no staple; good2's still staples"

stop_pid "$(cat "$T/exim-good1/exim.pid")" TERM
start_exim good1
is good1 none || fail "good1 (revoked), Exim restarted: ($(starttls good1 || echo 'STARTTLS failed'))"
ok "Exim restarted: STARTTLS completes, no staple for good1"

stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "ocspd exit status $RC after SIGTERM"
pass
