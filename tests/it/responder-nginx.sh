#!/bin/bash
# responder-nginx: nginx fetching its own staples from ocspd's local
# responder (--serve-ocsp), configured as the README shows:
#   ssl_stapling on; ssl_stapling_verify on; ssl_trusted_certificate CHAIN;
#   ssl_stapling_responder http://127.0.0.1:PORT/;
#  - s_client -status gets a good staple (nginx fetches lazily: retried);
#  - the CA's responder is asked by ocspd only (nginx never reaches it);
#  - after ocspd renews, nginx's next fetch serves the new staple, no reload.
# nginx refetches a staple no sooner than 5 minutes after the last fetch: its
# clock is moved on by 400 s with libfaketime (FAKETIME_TIMESTAMP_FILE) rather
# than waiting; ocspd's clock is the real one.
. "$(dirname "$0")/../lib.sh"
setup
FAKETIME_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
[ -e "$FAKETIME_LIB" ] || fail "no $FAKETIME_LIB (scripts/deps.sh installs faketime)"

# ocspd renews every ~10 s.
serving_site good1

ngx=$T/nginx
mkdir -p "$ngx"
port=$(free_port)
# nginx's workers run as nobody when it starts as root: they must read the clock file.
chmod o+x "$T"
echo "+0" >"$T/faketime"
chmod 644 "$T/faketime"
{
	nginx_head "$ngx" "env FAKETIME_TIMESTAMP_FILE;" "env FAKETIME_NO_CACHE;" "env FAKETIME_DONT_FAKE_MONOTONIC;"
	cat <<EOF
	server {
		listen 127.0.0.1:$port ssl;
		server_name good1.test;
		ssl_certificate     $site/good1.pem;
		ssl_certificate_key $site/good1.pem;
		ssl_stapling on;
		ssl_stapling_verify on;
		ssl_trusted_certificate $CA/chain.pem;
		ssl_stapling_responder http://127.0.0.1:$OPORT/;
		return 200 "ok\\n";
	}
}
EOF
} >"$ngx/nginx.conf"
$NGINX_CMD -t >>"$T/nginx-t.log" 2>&1 || fail "nginx -t: $(tail -n 3 "$T/nginx-t.log")"
LD_PRELOAD=$FAKETIME_LIB FAKETIME_TIMESTAMP_FILE=$T/faketime FAKETIME_NO_CACHE=1 \
	FAKETIME_DONT_FAKE_MONOTONIC=1 $NGINX_CMD >>"$T/nginx.log" 2>&1 &
NGINX_PID=$!
track $NGINX_PID
wait_for served_good "$port" good1 || fail "nginx staples nothing good: $(served_staple "$port" good1)"
first=$(this_update_served "$port" good1)
ok "nginx staples a good response fetched from ocspd (This Update $first)"

# ocspd renews (the CA's responder signs anew each time).
staple=$site/good1.pem.ocsp
wait_file_renewed "$staple" "$first"
# nginx's next fetch is due once its clock says 5 minutes passed.
echo "+400" >"$T/faketime"
wait_for -t 30 served_other "$port" good1 "$first" ||
	fail "nginx still serves the staple of $first: $(served_staple "$port" good1)"
kill -0 $NGINX_PID 2>/dev/null || fail "nginx died"
ok "nginx serves the renewed staple ($(this_update_served "$port" good1)) without a reload"

[ "$(count_log "$ngx/error.log" "reconfiguring")" = 0 ] || fail "nginx was reloaded"
stop_ocspd_alone_asked "$T/ocspd.log" good1
pass
