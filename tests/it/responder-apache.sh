#!/bin/bash
# responder-apache: Debian's apache2 with mod_ssl fetching its staples from
# ocspd's local responder (--serve-ocsp), configured as the README shows:
#   SSLUseStapling on; SSLStaplingCache shmcb:...;
#   SSLStaplingForceURL http://127.0.0.1:PORT/
#  - s_client -status gets a good staple (Apache POSTs application/ocsp-request);
#  - the CA's responder is asked by ocspd only;
#  - after ocspd renews, Apache's next fetch (its cache holds a staple
#    SSLStaplingStandardCacheTimeout seconds, 5 here) serves the new one,
#    without a reload or restart.
. "$(dirname "$0")/../lib.sh"
setup

# ocspd renews every ~10 s.
serving_site good1

ap=$T/apache
mkdir -p "$ap"
chmod o+x "$T"		# its children run as nobody: they reach their mutex files in $ap
port=$(free_port)
{
	apache_head "$ap" "$port"
	cat <<EOF
SSLStaplingCache shmcb:$ap/stapling(65536)
<VirtualHost 127.0.0.1:$port>
	ServerName good1.test
	SSLEngine on
	SSLCertificateFile $site/good1.pem
	SSLCertificateKeyFile $site/good1.pem
	SSLCACertificateFile $CA/chain.pem
	SSLUseStapling on
	SSLStaplingForceURL http://127.0.0.1:$OPORT/
	SSLStaplingStandardCacheTimeout 5
	SSLStaplingReturnResponderErrors off
</VirtualHost>
EOF
} >"$ap/apache2.conf"
apache2 -t -f "$ap/apache2.conf" >>"$T/apache-t.log" 2>&1 || fail "apache2 -t: $(tail -n 3 "$T/apache-t.log")"
start_apache "$ap/apache2.conf"
wait_for served_good "$port" good1 || fail "Apache staples nothing good: $(served_staple "$port" good1)"
first=$(this_update_served "$port" good1)
ok "Apache staples a good response fetched from ocspd (This Update $first)"

staple=$site/good1.pem.ocsp
wait_file_renewed "$staple" "$first"
wait_for -t 30 served_other "$port" good1 "$first" ||
	fail "Apache still serves the staple of $first: $(served_staple "$port" good1)"
kill -0 $APACHE_PID 2>/dev/null || fail "apache2 died"
[ "$(count_log "$ap/error.log" "SIGHUP|SIGUSR1|resuming normal operations")" -le 1 ] ||
	fail "Apache was restarted"
ok "Apache serves the renewed staple ($(this_update_served "$port" good1)) without a restart"

stop_ocspd_alone_asked "$T/ocspd.log" good1
stop_pid "$APACHE_PID"
pass
