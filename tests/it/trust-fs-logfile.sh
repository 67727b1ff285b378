#!/bin/bash
# trust-fs-logfile: --logdir DIR with --user, DIR writable by that user
# (issue 11, files). Root opens DIR/ocspd.log before dropping privileges, so
# whatever the user left there must not make root append to or chown another
# file:
#   1. ocspd.log -> a root-owned 0600 file: exit 2, an error naming
#      DIR/ocspd.log; the target keeps its content, owner and mode;
#   2. ocspd.log a hard link to that file: the same;
#   3. ocspd.log a regular file owned by root (left by a run as root): used,
#      not chowned, a warning says so;
#   4. no ocspd.log: created by ocspd and given to the user.
# Makes a throw-away system user, removed at exit.
. "$(dirname "$0")/../lib.sh"
setup
[ "$(id -u)" = 0 ] || fail "must run as root (useradd, --user)"

U=ocspdl$$
remove_user() {
	local rc=$? p
	for p in $PIDS; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	userdel "$U" 2>/dev/null || userdel -f "$U" 2>/dev/null
	groupdel "$U" 2>/dev/null
	(exit $rc)
	cleanup
}
trap remove_user EXIT
useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
	--user-group "$U" || fail "useradd $U"
uid=$(id -u "$U")
gid=$(id -g "$U")
[ -n "$uid" ] && [ "$uid" != 0 ] || fail "cannot read the ids of $U"

make_pki
start_responder "$PKI" "$RESP_PORT"
chmod 711 "$T"
L=$T/logs
mkdir "$T/certs" "$L"
cp "$CERTS/good1.pem" "$T/certs/"
chown -R "$U:$U" "$T/certs" "$L"
OPTS="--one-off --user $U --ca-file $CA/root.pem --logdir=$L $T/certs"

printf 'root secret\n' >"$T/secret"
chmod 600 "$T/secret"
state() { stat -c '%u:%g %a %s' "$T/secret"; sha256sum <"$T/secret"; }
before=$(state)
as_user() { setpriv --reuid="$uid" --regid="$gid" --clear-groups "$@"; }

# 1. A symlink planted by the user.
as_user ln -s "$T/secret" "$L/ocspd.log" || fail "the user cannot make the link"
run_ocspd "$T/run1.log" $OPTS
[ "$RC" = 2 ] || fail "log symlink: exit $RC, expected 2"
grep -F -- "$L/ocspd.log" "$T/run1.log" | grep -q "symbolic link" || fail "log symlink: no error naming $L/ocspd.log"
[ "$(state)" = "$before" ] || fail "log symlink: the target changed: $before -> $(state)"
no_staple "$T/certs/good1.pem"
ok "log file a symlink to a root-only file: exit 2, error names it, target unchanged"

# 2. A hard link (root made it: the kernel's protected_hardlinks stops a user).
rm -f "$L/ocspd.log"
ln "$T/secret" "$L/ocspd.log"
run_ocspd "$T/run2.log" $OPTS
[ "$RC" = 2 ] || fail "log hard link: exit $RC, expected 2"
grep -F -- "$L/ocspd.log" "$T/run2.log" | grep -q "single link" || fail "log hard link: no error naming $L/ocspd.log"
rm -f "$L/ocspd.log"
[ "$(state)" = "$before" ] || fail "log hard link: the target changed: $before -> $(state)"
ok "log file a hard link to a root-only file: exit 2, error names it, target unchanged"

# 3. A regular file already there, owned by root.
install -m 600 /dev/null "$L/ocspd.log"
run_ocspd "$T/run3.log" $OPTS
[ "$RC" = 0 ] || fail "root's log file: exit $RC, expected 0"
[ "$(stat -c '%u:%g %a' "$L/ocspd.log")" = "0:0 600" ] ||
	fail "root's log file was changed to $(stat -c '%u:%g %a' "$L/ocspd.log")"
grep -q "$L/ocspd.log: the log file was already there, owned by uid 0; its owner is left alone" "$L/ocspd.log" ||
	fail "root's log file: no warning in it"
grep -q "staple stored" "$L/ocspd.log" || fail "root's log file: not written to"
ok "log file already there, root's: written, not chowned, a warning says so"

# 4. None: ocspd makes it and gives it to the user.
rm -f "$L/ocspd.log" "$T/certs/"*.ocsp
run_ocspd "$T/run4.log" $OPTS
[ "$RC" = 0 ] || fail "new log file: exit $RC, expected 0"
[ "$(stat -c %u:%g "$L/ocspd.log")" = "$uid:$gid" ] || fail "new log file owned by $(stat -c %u:%g "$L/ocspd.log")"
! grep -q "left alone" "$L/ocspd.log" || fail "new log file: a warning about its owner"
check_staple "$T/certs/good1.pem"
ok "log file made by ocspd: given to $U"
pass
