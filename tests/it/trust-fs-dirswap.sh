#!/bin/bash
# trust-fs-dirswap: a sub-directory swapped for a symlink while its fetch is
# in flight (issue 11, files). With -R and inotify unavailable (NFS, a full
# watch limit: here a user namespace whose max_inotify_instances is 0), the
# rescan cannot notice the swap before the answer arrives. The staple must
# not be written through the symlink: nothing appears in its target (nor in
# the directory moved away), and an error names the symlink.
# The fetch is held in flight by stopping the real openssl responder
# (SIGSTOP: the kernel still accepts the connection and queues the request).
. "$(dirname "$0")/../lib.sh"
setup
command -v unshare >/dev/null || fail "unshare (util-linux) is needed"
unshare -U -r sh -c 'echo 0 >/proc/sys/user/max_inotify_instances' 2>/dev/null ||
	fail "cannot make a user namespace without inotify here (unshare -U -r)"
make_pki
start_responder "$PKI" "$RESP_PORT"

D=$T/certs
mkdir -p "$D/sub" "$T/outside"
cp "$CERTS/good1.pem" "$D/sub/a.pem"
kill -STOP "$RESP_PID"
# shellcheck disable=SC2016
unshare -U -r sh -c 'echo 0 >/proc/sys/user/max_inotify_instances && exec "$@"' sh \
	"$OCSPD" -R -r 3600 --timeout 60 --ca-file "$CA/root.pem" "$D" >>"$T/ocspd.log" 2>&1 &
OCSPD_PID=$!
track $OCSPD_PID
wait_log "$T/ocspd.log" "inotify unavailable" || fail "inotify was still available to ocspd"
in_flight() { [ -n "$(ss -Htn state established "( dport = :$RESP_PORT )")" ]; }
wait_for in_flight || fail "ocspd never connected to the responder"
sleep 0.5	# the request written
mv "$D/sub" "$T/sub.old"
ln -s "$T/outside" "$D/sub"
kill -CONT "$RESP_PID"
msg="$D/sub: a symbolic link below the configured directory $D; not followed"
written() { find "$T/outside" "$T/sub.old" -name '*.ocsp*' | head -3; }
wait_for eval 'grep -qF -- "$msg" "$T/ocspd.log" || [ -n "$(written)" ]'
sleep 1
left=$(written)
[ -z "$left" ] || fail "staple written through the swapped directory: $left"
grep -qF -- "$msg" "$T/ocspd.log" || fail "no error naming $D/sub as a symbolic link"
kill -0 "$OCSPD_PID" 2>/dev/null || fail "ocspd died"
stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "ocspd exited $RC on SIGTERM"
ok "swapped directory: error names it, nothing written in its target"
pass
