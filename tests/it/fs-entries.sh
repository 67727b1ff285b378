#!/bin/bash
# fs-entries: odd directory entries with a watched extension.
#  1. odd but good names (space, non-UTF-8 bytes, leading dash, a valid
#     symlink): all stapled, one-off exits 0. (Control bytes such as a
#     newline are refused: trust-names.)
#  2. bad entries next to a good bundle: dangling symlink, symlink loops, a
#     FIFO, a directory, a symlink to /dev/zero, a 100 MB file. The good one
#     is stapled, every bad one is named in a log line, none gets a staple,
#     nothing hangs, the 100 MB file is not read into memory, exit 1.
#  3. daemon mode: FIFOs (more than the worker threads) appear while running;
#     a bundle added after them is still stapled.
. "$(dirname "$0")/../lib.sh"
setup
make_pki
start_responder "$PKI" "$RESP_PORT"
OPTS="--ca-file $CA/root.pem --timeout 5 --connect-timeout 2"

# ---- 1. odd names
O=$T/odd
mkdir -p "$O"
names=("with space.pem" $'\xff\xfe-latin1.pem' "-dash.pem" "semi;colon \$(x).pem")
for n in "${names[@]}"; do cp "$CERTS/good1.pem" "$O/$n"; done
ln -s "$CERTS/good2.pem" "$O/link.pem"
run_ocspd "$T/odd.log" --one-off $OPTS "$O"
[ "$RC" = 0 ] || fail "odd names: one-off exited $RC, expected 0"
for n in "${names[@]}" link.pem; do
	[ "$(staple_status "$O/$n")" = good ] || fail "odd names: $(printf '%q' "$n"): staple is $(staple_status "$O/$n")"
done
[ -L "$O/link.pem" ] || fail "the symlink was replaced"
cmp -s "$O/link.pem" "$CERTS/good2.pem" || fail "the symlink's target changed"
ok "odd names stapled: ${#names[@]} names + a symlink"

# ---- 2. bad entries
B=$T/bad
mkdir -p "$B"
cp "$CERTS/good1.pem" "$B/good.pem"
ln -s "$B/nowhere.pem" "$B/dangling.pem"
ln -s "$B/loop2.pem" "$B/loop1.pem"
ln -s "$B/loop1.pem" "$B/loop2.pem"
ln -s self.pem "$B/self.pem"
mkfifo "$B/fifo.pem"
mkdir "$B/dir.pem"
ln -s /dev/zero "$B/zero.pem"
truncate -s 100M "$B/big.pem"	# sparse: costs no disk
# A certificate path the operator gave that cannot be read must be reported
# (a dangling certbot "live/" symlink is the classic); a directory without -R
# is simply not a certificate.
must_log="dangling loop1 loop2 self fifo zero big"
errors=""
run_ocspd "$T/bad.log" --one-off $OPTS "$B"
[ "$RC" = 1 ] || fail "bad entries: one-off exited $RC, expected 1"
check_staple "$B/good.pem"
for e in $must_log dir; do
	[ ! -s "$B/$e.pem.ocsp" ] || fail "bad entries: $e.pem got a staple"
done
for e in $must_log; do
	grep -Fq -- "$B/$e.pem" "$T/bad.log" || errors="$errors $e.pem"
done
grep -F -- "$B/big.pem" "$T/bad.log" | grep -Eqi "big|large|size|MiB|bytes" ||
	fail "big.pem: the error does not say it is too big"
if [ -n "$errors" ]; then
	echo "not ok - bad entries: nothing logged about:$errors"
else
	ok "bad entries: each named in the log, good one stapled, exit 1"
fi

# ---- 3. daemon mode: the same directory, FIFOs arriving while it runs
start_ocspd "$T/daemon.log" $OPTS -r 1 "$B"
wait_log "$T/daemon.log" "$B/big.pem" || fail "daemon: big.pem never mentioned"
pid_hwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
hwm=$(pid_hwm "$OCSPD_PID")
# ASan's own footprint is tens of MB; reading 100 MB would show as >= 100 MB.
[ "${hwm:-0}" -lt 100000 ] || fail "daemon: peak RSS ${hwm} kB after seeing a 100 MB file"
ok "daemon: peak RSS ${hwm} kB with a 100 MB file in the directory"
for i in 1 2 3 4; do mkfifo "$B/late$i.pem"; done
sleep 1
cp "$CERTS/good2.pem" "$B/after.pem"
wait_for test -s "$B/after.pem.ocsp" || fail "daemon: a bundle added after 4 FIFOs was never stapled (blocked on a FIFO?)"
check_staple "$B/after.pem"
kill -0 "$OCSPD_PID" 2>/dev/null || fail "daemon died"
stop_pid "$OCSPD_PID"
[ "$RC" = 0 ] || fail "daemon exited $RC on SIGTERM"
no_temp_files daemon "$O" "$B"
ok "daemon: not blocked by FIFOs, exits 0"
[ -z "$errors" ] || fail "unreadable entries skipped silently (expected a per-file error):$errors"
pass
