#!/bin/bash
# nginx-hook: nginx staples what ocspd writes, reloaded by --hook (issue 4).
# Renewals through a plain reload hook (the README's nginx recipe, which also
# survives withdrawals, is tests/it/withdraw-nginx.sh), with a private prefix,
# pid file and logs:
#     ssl_stapling on; ssl_stapling_file <certfile>.ocsp;
#     ocspd --hook 'nginx -s reload' DIR
#  - first staple written before nginx starts (nginx refuses an empty or
#    missing ssl_stapling_file): s_client -status shows it, good;
#  - a renewed staple (ocspd restarted with --no-recycle) makes the hook
#    reload nginx, which then serves the new one (This Update compared).
. "$(dirname "$0")/../lib.sh"
setup
make_pki
start_responder "$PKI" "$RESP_PORT"

site=$T/site
ngx=$T/nginx
mkdir -p "$site" "$ngx"
cp "$CERTS/good1.pem" "$site/example.pem"
port=$(free_port)
{
	nginx_head "$ngx"
	cat <<EOF
	server {
		listen 127.0.0.1:$port ssl;
		server_name good1.test;
		ssl_certificate     $site/example.pem;
		ssl_certificate_key $site/example.pem;
		ssl_stapling        on;
		ssl_stapling_file   $site/example.pem.ocsp;
		return 200 "ok\n";
	}
}
EOF
} >"$ngx/nginx.conf"
nginx_cmd=$NGINX_CMD

staple=$site/example.pem.ocsp

# The first staple, before nginx starts.
run_ocspd "$T/oneoff.log" --ca-file "$CA/root.pem" --one-off "$site"
[ "$RC" = 0 ] || fail "--one-off exit status $RC"
check_staple "$site/example.pem"
$nginx_cmd >>"$T/nginx.log" 2>&1 &
track $!
wait_for served_good "$port" good1 || fail "nginx does not staple a good response (served: $(served_staple "$port" good1))"
ok "nginx staples the staple ocspd wrote"

sleep 1.1	# This Update has a one-second resolution
old=$(this_update_served "$port" good1)
start_ocspd "$T/ocspd.log" --ca-file "$CA/root.pem" --no-recycle --hook "$nginx_cmd -s reload" "$site"
pid=$OCSPD_PID
wait_log "$T/ocspd.log" "hook: done" || fail "the reload hook did not run (or failed)"
wait_for served_renewed "$port" good1 "$staple" "$old" ||
	fail "served This Update '$(this_update_served "$port" good1)', file '$(this_update_file "$staple")', before '$old'"
served_good "$port" good1 || fail "after the reload: not good ($(served_staple "$port" good1))"
kill -0 $pid 2>/dev/null || fail "ocspd died"
stop_pid $pid TERM
[ "$RC" = 0 ] || fail "ocspd exit status $RC"
ok "renewed staple served after the hook reloaded nginx ($old -> $(this_update_served "$port" good1))"
pass
