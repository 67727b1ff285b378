#!/bin/bash
# fleet-hostile: a hostile Redis server (issue 13 red team; tests/fakeredis.py).
# One node per misbehaviour, all at once; each must keep stapling from the
# responder, stay alive, say so in one warning naming the URL (password
# hidden) and the reason, and reconnect with backoff:
#  - huge:     a 1 GiB bulk string for GETRANGE: dropped at 1 MiB, peak RSS
#              stays far below the attack;
#  - bigarray: an array of 20,000,000 integers: refused at its header;
#  - extra:    a reply to no command (hiredis 0.14 asserts on it: abort);
#  - unsub:    an "unsubscribe" push nobody asked for, then a message
#              (hiredis asserts on the message: abort);
#  - silent:   accepts and never answers: the connect deadline.
. "$(dirname "$0")/../lib.sh"
setup
make_pki
start_responder "$PKI" "$RESP_PORT"
modes="huge bigarray extra unsub silent"
pw=hostile-pw-$RANDOM$RANDOM
declare -A port pid
for m in $modes; do
	port[$m]=$(free_port)
	start_fakeredis "$m" "${port[$m]}" "$T/$m.accepts"
	mkdir -p "$T/$m"
	cp "$CERTS/good1.pem" "$T/$m/"
	REDIS_URL=redis://:$pw@127.0.0.1:${port[$m]} start_fleet_node "$m" "$T/$m.log" "$T/$m"
	pid[$m]=$OCSPD_PID
done
declare -A reason=(
	[huge]="Redis sent a reply of more than 1048576 bytes"
	[bigarray]="Redis sent an array where none was asked for"
	[extra]="Redis sent a reply to no command"
	[unsub]="Redis sent a subscriber push that is neither subscribe nor message"
	[silent]="no answer within 3s"
)
accepts() { grep -c accept "$1" 2>/dev/null || echo 0; }
for m in $modes; do
	wait_for eval '[ "$(staple_status "$T/$m/good1.pem")" = good ]' || fail "$m: no good staple from the responder"
	wait_log "$T/$m.log" "warning: redis redis://:\*\*\*@127\.0\.0\.1:${port[$m]}: .*${reason[$m]}" ||
		fail "$m: no warning naming the URL and \"${reason[$m]}\""
done
ok "every node stapled from the responder and named the URL and the reason"
# Backoff: 1 s, 2 s, 4 s... so a second and third connection pair come within ~10 s.
for m in $modes; do
	wait_for -t 30 eval '[ "$(accepts "$T/$m.accepts")" -ge 4 ]' || fail "$m: no reconnect ($(accepts "$T/$m.accepts") connections)"
done
for m in $modes; do
	kill -0 "${pid[$m]}" 2>/dev/null || fail "$m: ocspd died ($(tail -n 3 "$T/$m.log"))"
	[ "$(count_log "$T/$m.log" "warning: redis ")" = 1 ] || fail "$m: not exactly one Redis warning"
	! grep -qF "$pw" "$T/$m.log" || fail "$m: the password is in the log"
done
ok "all alive after reconnects, one warning each, no password in a log"
for m in huge bigarray; do
	hwm=$(vm_hwm "${pid[$m]}")
	[ "${hwm:-0}" -lt 204800 ] || fail "$m: peak RSS ${hwm} KiB (limit 200 MiB, the attack is 1 GiB)"
	ok "$m: peak RSS ${hwm} KiB"
done
for m in $modes; do
	stop_pid "${pid[$m]}"
	[ "$RC" = 0 ] || fail "$m: SIGTERM: exit status $RC"
done
pass
