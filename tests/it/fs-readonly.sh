#!/bin/bash
# fs-readonly: certificates on a read-only mount (root ignores chmod 555, so a
# read-only bind mount). good1/good2 have staples, good3 none:
#  - one-off --no-recycle: staples intact, good3 gets none, the error names
#    the file and EROFS, exit 1; daemon mode: keeps running, exits 0.
. "$(dirname "$0")/../lib.sh"
setup
make_pki
start_responder "$PKI" "$RESP_PORT"
OPTS="--ca-file $CA/root.pem --timeout 5 --connect-timeout 2"

S=$T/src
R=$T/ro
mkdir -p "$S" "$R"
cp "$CERTS/good1.pem" "$CERTS/good2.pem" "$S/"
run_ocspd "$T/first.log" --one-off $OPTS "$S"
[ "$RC" = 0 ] || fail "first one-off exited $RC"
check_staple "$S/good1.pem"
check_staple "$S/good2.pem"
cp "$CERTS/good3.pem" "$S/"
cp -a "$S" "$T/saved"
mount --bind "$S" "$R" || fail "cannot bind-mount (root needed)"
trap 'rc=$?; umount -l "$R" 2>/dev/null; (exit $rc); cleanup' EXIT
mount -o remount,bind,ro "$R" || fail "cannot remount read-only"
touch "$R/probe" 2>/dev/null && fail "the bind mount is writable"

intact() {	# intact WHEN
	staples_kept "$1" "$S" "$T/saved" good1 good2
	no_staple "$S/good3.pem"
	no_temp_files "$1" "$S"
}

run_ocspd "$T/ro.log" --one-off --no-recycle $OPTS "$R"
[ "$RC" = 1 ] || fail "one-off on a read-only mount exited $RC, expected 1"
intact "one-off"
grep -F -- "$R/good3.pem" "$T/ro.log" | grep -qi "read-only file system" ||
	fail "no log line names good3.pem with 'Read-only file system'"
ok "one-off: EROFS logged, staples intact, exit 1"

start_ocspd "$T/daemon.log" --no-recycle $OPTS "$R"
wait_log "$T/daemon.log" "$R/good3.pem.*[Rr]ead-only file system" || fail "daemon: no EROFS error"
kill -0 "$OCSPD_PID" 2>/dev/null || fail "daemon died on a read-only mount"
stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "daemon exited $RC on SIGTERM"
intact "daemon"
ok "daemon: survives a read-only mount"
pass
