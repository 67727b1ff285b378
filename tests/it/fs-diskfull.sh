#!/bin/bash
# fs-diskfull: staples on a full file system (a 1 MiB tmpfs filled up).
# Good staples exist, a third bundle has none, then the disk fills:
#  - one-off --no-recycle: the old staples stay byte-for-byte intact, the new
#    bundle gets none, the error names the file and ENOSPC, exit 1, no
#    temporary files left;
#  - daemon mode: same, keeps running, exits 0 on SIGTERM;
#  - space returns: one-off --no-recycle stores every staple, exit 0.
. "$(dirname "$0")/../lib.sh"
setup
make_pki
start_responder "$PKI" "$RESP_PORT"
OPTS="--ca-file $CA/root.pem --timeout 5 --connect-timeout 2"

M=$T/mnt
mkdir -p "$M"
mount -t tmpfs -o size=1m,mode=755 ocspd-test "$M" || fail "cannot mount a tmpfs (root needed)"
trap 'rc=$?; umount -l "$M" 2>/dev/null; (exit $rc); cleanup' EXIT

cp "$CERTS/good1.pem" "$CERTS/good2.pem" "$M/"
run_ocspd "$T/first.log" --one-off $OPTS "$M"
[ "$RC" = 0 ] || fail "first one-off exited $RC"
mkdir -p "$T/saved"
for c in good1 good2; do
	check_staple "$M/$c.pem"
	cp "$M/$c.pem.ocsp" "$T/saved/"
done
cp "$CERTS/good3.pem" "$M/"
dd if=/dev/zero of="$M/filler" bs=4k 2>/dev/null
[ "$(df --output=avail "$M" | tail -1)" -eq 0 ] || fail "could not fill the tmpfs"
ok "disk full, 2 good staples, good3 without one"

intact() {	# intact WHEN
	staples_kept "$1" "$M" "$T/saved" good1 good2
	no_staple "$M/good3.pem"
	no_temp_files "$1" "$M"
}

run_ocspd "$T/full.log" --one-off --no-recycle $OPTS "$M"
[ "$RC" = 1 ] || fail "one-off on a full disk exited $RC, expected 1"
intact "one-off"
grep -F -- "$M/good3.pem" "$T/full.log" | grep -qi "no space left" ||
	fail "no log line names good3.pem with 'No space left on device'"
ok "one-off: old staples intact, ENOSPC logged, exit 1"

start_ocspd "$T/daemon.log" --no-recycle $OPTS "$M"
wait_log "$T/daemon.log" "$M/good3.pem.*[Nn]o space left" || fail "daemon: no ENOSPC error for good3.pem"
wait_log "$T/daemon.log" "$M/good1.pem.*[Nn]o space left" || fail "daemon: no ENOSPC error for good1.pem"
kill -0 "$OCSPD_PID" 2>/dev/null || fail "daemon died on a full disk"
stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "daemon exited $RC on SIGTERM"
intact "daemon"
ok "daemon: survives a full disk, old staples intact"

rm -f "$M/filler"
run_ocspd "$T/recovered.log" --one-off --no-recycle $OPTS "$M"
[ "$RC" = 0 ] || fail "one-off after space returned exited $RC"
for c in good1 good2 good3; do check_staple "$M/$c.pem"; done
no_temp_files "recovery" "$M"
ok "space back: every staple stored"
pass
