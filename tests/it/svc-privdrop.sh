#!/bin/bash
# svc-privdrop: --user/--group (issue 7).
#  - started as root with --user, the daemon runs as that user in every
#    thread: /proc says uid and gid (real, effective, saved, fs) are the
#    user's and the supplementary groups are the user's, not root's; root
#    cannot be regained (setuid(0) is checked by ocspd itself);
#  - staples are written by the user and verify; the --logdir file, opened
#    as root, belongs to the user; a "user" changed on SIGHUP only warns;
#  - --group picks the group; unknown user or group, --group alone, and a
#    non-root start asking for another user exit 2 with a message; a non-root
#    start asking for itself just runs.
# Makes a throw-away system user and groups, removed at exit.
. "$(dirname "$0")/../lib.sh"
setup
[ "$(id -u)" = 0 ] || fail "must run as root (useradd, --user)"

U=ocspdt$$
XG=${U}x
# Stop what runs as the user before removing it, then lib.sh's cleanup (which
# reads the test's exit status from $?).
remove_user() {
	local rc=$? p
	for p in $PIDS; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	userdel "$U" 2>/dev/null || userdel -f "$U" 2>/dev/null
	groupdel "$U" 2>/dev/null
	groupdel "$XG" 2>/dev/null
	(exit $rc)
	cleanup
}
trap remove_user EXIT
groupadd --system "$XG" || fail "groupadd $XG"
useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
	--user-group --groups "$XG" "$U" || fail "useradd $U"
uid=$(id -u "$U")
gid=$(id -g "$U")
xgid=$(getent group "$XG" | cut -d: -f3)
if [ -z "$uid" ] || [ "$uid" = 0 ] || [ -z "$xgid" ]; then fail "cannot read the ids of $U"; fi

make_pki
start_responder "$PKI" "$RESP_PORT"
chmod 711 "$T"	# the user walks through $T to its certificate directory
mkdir "$T/certs" "$T/certs2"
cp "$CERTS/good1.pem" "$CERTS/good2.pem" "$T/certs/"
cp "$CERTS/good3.pem" "$T/certs2/"
chown -R "$U:$U" "$T/certs"
chown -R "$U:$XG" "$T/certs2"
chmod 770 "$T/certs2"

# 1. Daemon started as root, user from the config file, log in $T/ocspd.log.
printf 'user = %s\nca-file = %s\nlogdir = %s\n' "$U" "$CA/root.pem" "$T" >"$T/ocspd.conf"
start_ocspd "$T/stderr.log" -c "$T/ocspd.conf" -r 1 "$T/certs"
pid=$OCSPD_PID
log=$T/ocspd.log
wait_for eval '[ -s "$T/certs/good1.pem.ocsp" ] && [ -s "$T/certs/good2.pem.ocsp" ]' ||
	fail "no staples written as $U"
check_staple "$T/certs/good1.pem"
check_staple "$T/certs/good2.pem"
for f in good1 good2; do
	[ "$(stat -c %u:%g "$T/certs/$f.pem.ocsp")" = "$uid:$gid" ] ||
		fail "$f.pem.ocsp owned by $(stat -c %u:%g "$T/certs/$f.pem.ocsp"), expected $uid:$gid"
done
ok "staples written by $U and verified"

ids() { awk -v k="$2:" '$1 == k { $1 = ""; print substr($0, 2) }' "$1"; }
for st in "/proc/$pid/task/"*/status; do
	[ "$(ids "$st" Uid)" = "$uid $uid $uid $uid" ] || fail "$st: Uid: $(ids "$st" Uid), expected $uid x4"
	[ "$(ids "$st" Gid)" = "$gid $gid $gid $gid" ] || fail "$st: Gid: $(ids "$st" Gid), expected $gid x4"
	groups=$(ids "$st" Groups | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')
	want=$(printf '%s\n' "$gid" "$xgid" | sort -n | tr '\n' ' ')
	[ "$groups" = "$want" ] || fail "$st: Groups: $groups, expected $want"
	[ "$(ids "$st" CapEff)" = 0000000000000000 ] || fail "$st: capabilities left: $(ids "$st" CapEff)"
done
[ "$(find "/proc/$pid/task" -mindepth 1 -maxdepth 1 | wc -l)" -gt 1 ] || fail "expected worker threads in /proc/$pid/task"
ok "every thread runs as $uid:$gid with the groups of $U and no capabilities"

[ "$(stat -c %u:%g "$log")" = "$uid:$gid" ] || fail "log file owned by $(stat -c %u:%g "$log")"
grep -qE "info: running as user $U \(uid $uid\), group $U \(gid $gid\)" "$log" ||
	fail "no 'running as user' line in $log"
ok "log file handed to $U, switch logged"

# A new user on SIGHUP is not applied: a warning, and the process stays $U.
printf 'user = root\nca-file = %s\nlogdir = %s\n' "$CA/root.pem" "$T" >"$T/ocspd.conf"
kill -HUP "$pid"
wait_log "$log" "warning: SIGHUP: user and group take effect at the next restart; still running as user $U" ||
	fail "no warning for a user changed on SIGHUP"
wait_log "$log" "SIGHUP: configuration reloaded" || fail "configuration not reloaded"
[ "$(ids "/proc/$pid/status" Uid)" = "$uid $uid $uid $uid" ] || fail "uid changed on SIGHUP"
# And it still writes: a new certificate gets a staple.
install -o "$U" -g "$U" -m 600 "$CERTS/good3.pem" "$T/good3.pem"
mv "$T/good3.pem" "$T/certs/"
wait_for test -s "$T/certs/good3.pem.ocsp" || fail "no staple for a certificate added after SIGHUP"
check_staple "$T/certs/good3.pem"
ok "SIGHUP keeps the running user, with a warning"

# A certificate the user cannot read is an error naming it; fixing its owner
# (a chown: only ctime changes) is noticed at once and it gets its staple.
cp "$CERTS/good2.pem" "$T/late.pem"
install -o root -g root -m 600 "$T/late.pem" "$T/certs/late.pem"
wait_log "$log" "certs/late\.pem: .*Permission denied" || fail "unreadable certificate: no error naming it"
chown "$U" "$T/certs/late.pem"
wait_for test -s "$T/certs/late.pem.ocsp" || fail "no staple after the certificate was made readable"
check_staple "$T/certs/late.pem"
ok "unreadable certificate: error, then stapled right after chown"
stop_pid "$pid"
[ "$RC" = 0 ] || fail "ocspd exited $RC on SIGTERM"

# 2. --group: the process (and so the staple) gets that group.
run_ocspd "$T/group.log" --one-off --user "$U" --group "$XG" --ca-file "$CA/root.pem" "$T/certs2"
[ "$RC" = 0 ] || fail "--group one-off exited $RC"
check_staple "$T/certs2/good3.pem"
[ "$(stat -c %u:%g "$T/certs2/good3.pem.ocsp")" = "$uid:$xgid" ] ||
	fail "--group: staple owned by $(stat -c %u:%g "$T/certs2/good3.pem.ocsp"), expected $uid:$xgid"
grep -q "running as user $U (uid $uid), group $XG (gid $xgid)" "$T/group.log" || fail "--group not logged"
ok "--group $XG"

# 3. Errors: exit 2, a message naming what is wrong, no staple written.
rm -f "$T/certs/"*.ocsp
run_ocspd "$T/e1.log" --one-off --user "nosuch$U" --ca-file "$CA/root.pem" "$T/certs"
[ "$RC" = 2 ] || fail "unknown user: exit $RC, expected 2"
grep -q "user nosuch$U: no such user" "$T/e1.log" || fail "unknown user: no message naming it"
run_ocspd "$T/e2.log" --one-off --user "$U" --group "nosuch$U" --ca-file "$CA/root.pem" "$T/certs"
[ "$RC" = 2 ] || fail "unknown group: exit $RC, expected 2"
grep -q "group nosuch$U: no such group" "$T/e2.log" || fail "unknown group: no message naming it"
run_ocspd "$T/e3.log" --one-off --group "$XG" --ca-file "$CA/root.pem" "$T/certs"
[ "$RC" = 2 ] || fail "--group without --user: exit $RC, expected 2"
grep -q "needs --user" "$T/e3.log" || fail "--group without --user: no message"
ok "unknown user, unknown group, --group alone: exit 2 with a message"

# Not root: asking for another user is refused, asking for oneself runs.
as_user() { timeout 120 setpriv --reuid="$uid" --regid="$gid" --clear-groups "$@"; }
as_user "$OCSPD" --one-off --user root --ca-file "$CA/root.pem" "$T/certs" >"$T/e4.log" 2>&1
rc=$?
[ "$rc" = 2 ] || fail "non-root --user root: exit $rc, expected 2"
grep -q "cannot switch to user root: not running as root" "$T/e4.log" || fail "non-root: no 'not running as root' message"
for f in "$T/certs/"*.ocsp; do
	[ -e "$f" ] && fail "a refused start wrote $f"
done
as_user "$OCSPD" --one-off --user "$U" --ca-file "$CA/root.pem" "$T/certs" >"$T/self.log" 2>&1
rc=$?
[ "$rc" = 0 ] || fail "non-root --user self: exit $rc, expected 0"
check_staple "$T/certs/good1.pem"
ok "non-root: --user root refused (exit 2), --user self runs"
pass
