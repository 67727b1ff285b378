#!/bin/bash
# svc-logging: where log lines go (issue 7).
#  - --logdir: lines go to DIR/ocspd.log; after logrotate's "mv ocspd.log
#    ocspd.log.1" and SIGHUP, new lines go to a new ocspd.log and none to the
#    old one; a broken configuration on SIGHUP is logged there and logging
#    goes on;
#  - stderr that is the journal (JOURNAL_STREAM = its st_dev:st_ino, in
#    decimal as systemd writes it): every line starts with <3>, <4> or <6>
#    by level and has no timestamp; a JOURNAL_STREAM naming another file
#    changes nothing; a start-up error is <3> too;
#  - --syslog-facility: local3 reaches syslog as facility 19 (checked with a
#    private /dev/log in a mount namespace); an unknown name exits 2.
. "$(dirname "$0")/../lib.sh"
setup
make_pki
start_responder "$PKI" "$RESP_PORT"

# 1. --logdir and rotation.
mkdir "$T/logs" "$T/certs"
cp "$CERTS/good1.pem" "$T/certs/"
printf 'logdir = %s\nca-file = %s\n' "$T/logs" "$CA/root.pem" >"$T/ocspd.conf"
start_ocspd "$T/stderr.log" -c "$T/ocspd.conf" -r 1 "$T/certs"
pid=$OCSPD_PID
log=$T/logs/ocspd.log
wait_for test -e "$log" || fail "no $log"
wait_log "$log" "info: .*/good1\.pem: staple stored" || fail "no staple line in $log"
[ ! -s "$T/stderr.log" ] || fail "--logdir: lines on stderr: $(head -3 "$T/stderr.log")"
ok "--logdir: lines in DIR/ocspd.log, none on stderr"

mv "$log" "$log.1"
kill -HUP "$pid"
wait_for test -e "$log" || fail "no new ocspd.log after mv + SIGHUP"
wait_log "$log" "SIGHUP: configuration reloaded" || fail "no reload line in the new ocspd.log"
cp "$CERTS/good2.pem" "$T/certs/"
wait_log "$log" "/good2\.pem: staple stored" || fail "good2's staple not logged in the new file"
[ "$(count_log "$log.1" "good2|SIGHUP")" = 0 ] || fail "lines after SIGHUP went to the rotated file"
ok "mv + SIGHUP: new lines in a new ocspd.log, the old one untouched"

# A configuration that does not load: logged, logging goes on in the same file.
echo "no-such-key = 1" >>"$T/ocspd.conf"
kill -HUP "$pid"
wait_log "$log" "error: SIGHUP: configuration not reloaded" || fail "broken config on SIGHUP not logged"
cp "$CERTS/good3.pem" "$T/certs/"
wait_log "$log" "/good3\.pem: staple stored" || fail "nothing logged after a broken config on SIGHUP"
stop_pid "$pid"
[ "$RC" = 0 ] || fail "ocspd exited $RC on SIGTERM"
ok "a broken configuration on SIGHUP keeps logging going"

# 2. journald's stream. One-off over a good, a dead-first and a broken
# certificate gives info, warning and error lines.
mkdir "$T/mixed"
cp "$CERTS/good1.pem" "$CERTS/deadfirst.pem" "$CERTS/noaia.pem" "$T/mixed/"
: >"$T/journal.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/journal.log")
export JOURNAL_STREAM
run_ocspd "$T/journal.log" --one-off --ca-file "$CA/root.pem" "$T/mixed"
unset JOURNAL_STREAM
[ "$RC" = 1 ] || fail "one-off with noaia.pem exited $RC, expected 1"
grep -q '^<6>info: .*good1\.pem: staple stored' "$T/journal.log" || fail "journal: no <6> info line"
grep -q '^<4>warning: .*deadfirst\.pem' "$T/journal.log" || fail "journal: no <4> warning line"
grep -q '^<3>error: .*noaia\.pem' "$T/journal.log" || fail "journal: no <3> error line"
bad=$(grep -v '^<[346]>' "$T/journal.log" | head -3)
[ -z "$bad" ] || fail "journal: lines without a priority prefix: $bad"
! grep -qE '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z' "$T/journal.log" || fail "journal: timestamps in lines"
ok "stderr is the journal: <N> prefixes, no timestamps"
# A start-up error (before the loop runs) is an error in the journal too.
: >"$T/journal-start.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/journal-start.log")
export JOURNAL_STREAM
run_ocspd "$T/journal-start.log" --status-listen 127.0.0.1:0x "$T/mixed"
unset JOURNAL_STREAM
[ "$RC" = 2 ] || fail "bad --status-listen: exit $RC, expected 2"
grep -q '^<3>ocspd: status-listen 127.0.0.1:0x: ' "$T/journal-start.log" || fail "journal: start-up error without <3>"
ok "start-up error: <3> in the journal"

# JOURNAL_STREAM naming another file (stderr redirected by a child): plain lines.
: >"$T/other.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/other.log")
export JOURNAL_STREAM
run_ocspd "$T/plain.log" --one-off --ca-file "$CA/root.pem" "$T/mixed"
unset JOURNAL_STREAM
grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z ocspd info: .*good1\.pem: staple (stored|recycled)' "$T/plain.log" ||
	fail "JOURNAL_STREAM of another file: not the plain format"
! grep -q '^<[0-7]>' "$T/plain.log" || fail "JOURNAL_STREAM of another file: priority prefixes"
ok "JOURNAL_STREAM not naming stderr: plain lines"

# 3. --syslog-facility.
run_ocspd "$T/facility.log" --one-off --syslog --syslog-facility bogus "$T/mixed"
[ "$RC" = 2 ] || fail "--syslog-facility bogus: exit $RC, expected 2"
grep -q 'unknown facility "bogus"' "$T/facility.log" || fail "--syslog-facility bogus: no message naming it"
ok "unknown facility: exit 2"

# syslog(3) writes "<facility*8+severity>" to /dev/log: give ocspd a private
# /dev (with null and urandom) whose log socket records datagrams.
if command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
	cat >"$T/ns.sh" <<'EOF'
set -e
T=$1
mount --make-rprivate /
mkdir "$T/olddev"
mount --rbind /dev "$T/olddev"
mount -t tmpfs tmpfs /dev
for n in null zero urandom random; do
	touch "/dev/$n"
	mount --bind "$T/olddev/$n" "/dev/$n"
done
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
s.settimeout(60)
open(sys.argv[1] + "/syslog.ready", "w").close()
with open(sys.argv[1] + "/syslog.txt", "ab", 0) as f:
    while True:
        f.write(s.recv(65536) + b"\n")
' "$T" &
trap 'kill $! 2>/dev/null' EXIT
for i in $(seq 100); do [ -e "$T/syslog.ready" ] && break; sleep 0.1; done
shift
"$@" || echo "ocspd exit $?" >"$T/syslog.rc"
for i in $(seq 50); do grep -q 'one-off:' "$T/syslog.txt" && break; sleep 0.1; done
EOF
	timeout 120 unshare -m bash "$T/ns.sh" "$T" "$OCSPD" --one-off --syslog --syslog-facility local3 \
		--ca-file "$CA/root.pem" "$T/mixed" >>"$T/syslog-ns.log" 2>&1
	# local3 = 19: error 19*8+3 = 155, warning 156, info 158.
	grep -Eq '^<158>.*ocspd\[[0-9]*\]: info: .*good1\.pem: staple (stored|recycled)' "$T/syslog.txt" ||
		fail "syslog: no info line with facility local3 (<158>)"
	grep -q '^<155>.*ocspd\[[0-9]*\]: error: .*noaia\.pem' "$T/syslog.txt" ||
		fail "syslog: no error line with facility local3 (<155>)"
	ok "--syslog-facility local3 reaches syslog as facility 19"
else
	echo "skip - no mount namespaces here: --syslog-facility local3 not checked"
fi
pass
