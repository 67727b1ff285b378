#!/bin/bash
# withdraw-nginx: the README's nginx recipe (issue 15): ocspd's --hook is
# contrib/ocspd-stapling-switch, which keeps per certificate an include file
# that switches ssl_stapling on (naming a copy of a valid staple) or off.
#  - nginx starts before any staple exists (the include is absent), then
#    staples good1 and good2 once ocspd has them;
#  - the responder says good1 is revoked: after ocspd's next attempt nginx
#    sends no staple for good1 and still a good one for good2;
#  - `nginx -t` passes, and nginx restarted serves the same.
. "$(dirname "$0")/../lib.sh"
setup
make_pki
start_responder "$PKI" "$RESP_PORT" -nmin 10

site=$T/site
ngx=$T/nginx
inc=$T/staples
mkdir -p "$site" "$inc" "$ngx"
cp "$CERTS/good1.pem" "$CERTS/good2.pem" "$site/"
port=$(free_port)
server() {	# NAME: a server block as the README shows it
	local name=$1 mangled
	mangled=$(printf '%s' "$site/$name.pem" | tr / _)
	printf '\tserver {\n'
	printf '\t\tlisten 127.0.0.1:%s ssl;\n' "$port"
	printf '\t\tserver_name %s.test;\n' "$name"
	printf '\t\tssl_certificate     %s;\n' "$site/$name.pem"
	printf '\t\tssl_certificate_key %s;\n' "$site/$name.pem"
	printf '\t\tinclude %s.con[f];\n' "$inc/$mangled"
	printf '\t\treturn 200 "ok\\n";\n'
	printf '\t}\n'
}
{
	nginx_head "$ngx"
	server good1
	server good2
	echo "}"
} >"$ngx/nginx.conf"
nginx_cmd=$NGINX_CMD

none() {
	echo | openssl s_client -connect "127.0.0.1:$port" -servername "$1.test" -status 2>/dev/null |
		grep -q "OCSP response: no response sent"
}
start_nginx() {
	$nginx_cmd -t >>"$T/nginx-t.log" 2>&1 || fail "nginx -t fails: $(tail -n 3 "$T/nginx-t.log")"
	$nginx_cmd >>"$T/nginx.log" 2>&1 &
	NGINX_PID=$!
	track $NGINX_PID
	wait_for eval 'none good2 || served_good "$port" good2' ||
		fail "nginx did not start: $(tail -n 3 "$ngx/error.log")"
}

start_nginx
none good1 || fail "good1: a staple before ocspd wrote any"
ok "nginx starts before any staple exists (no staple directive yet)"

start_ocspd "$T/ocspd.log" --ca-file "$CA/root.pem" --minimum-validity 590 \
	--hook "$ROOT/contrib/ocspd-stapling-switch $inc $nginx_cmd -s reload" "$site"
for n in good1 good2; do
	wait_for served_good "$port" $n || fail "$n: nginx does not staple it ($(served_staple "$port" $n))"
done
ok "the hook switched stapling on: nginx staples good1 and good2"

stop_responder
revoke_in_index "$CA" good1
start_responder "$PKI" "$RESP_PORT" -nmin 10
wait_log "$T/ocspd.log" "good1.pem: certificate revoked" || fail "ocspd did not see the revocation"
wait_for none good1 || fail "good1 (revoked): nginx still sends a staple ($(served_staple "$port" good1))"
served_good "$port" good2 || fail "good2: lost its staple ($(served_staple "$port" good2))"
ok "revoked: nginx sends no staple for good1, still a good one for good2"

$nginx_cmd -t >>"$T/nginx-t.log" 2>&1 || fail "nginx -t fails after the withdrawal: $(tail -n 3 "$T/nginx-t.log")"
stop_pid "$NGINX_PID" QUIT
start_nginx
wait_for served_good "$port" good2 || fail "restarted nginx: good2 not stapled"
none good1 || fail "restarted nginx: good1 (revoked) stapled ($(served_staple "$port" good1))"
ok "nginx -t passes; nginx restarted: no staple for good1, good2 stapled"

stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "ocspd exit status $RC after SIGTERM"
pass
