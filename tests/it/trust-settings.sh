#!/bin/bash
# trust-settings: settings that meant "no limit" and config files that were
# no config file (issue 11, point 5).
#  - each absurd numeric value, on the command line and in the config file,
#    exits 2 with a message naming the option (and FILE:LINE) and its range;
#  - -c /dev/zero, a FIFO, a directory: exit 2 at once, naming the file;
#  - a running daemon whose config file became a FIFO, or got an out-of-range
#    value or a key twice, logs "configuration not reloaded", keeps its old
#    configuration and still stops on SIGTERM;
#  - a list key given on two lines of the file adds up: both directories are
#    watched and stapled.
. "$(dirname "$0")/../lib.sh"
setup
make_pki
start_responder "$PKI" "$RESP_PORT"

empty=$T/empty
mkdir "$empty"
# A run that should not start: exit 2, a message matching REGEX, and promptly
# (on the old code -c /dev/zero never ended: the deadline turns that into a failure).
expect2() {	# expect2 REGEX ARGS...
	local re=$1 out=$T/err.log
	shift
	: >"$out"
	RUN_DEADLINE=20 run_ocspd "$out" "$@"
	[ "$RC" = 2 ] || fail "ocspd $*: exit $RC, expected 2: $(tail -n 3 "$out")"
	grep -Eq -- "$re" "$out" || fail "ocspd $*: message does not match /$re/: $(cat "$out")"
}

# 1. The command line. --one-off over an empty directory: were a value taken,
# the run would end at once with exit 1.
expect2 'timeout: expected seconds from 0\.1 to 300, got "0\.0004"' --one-off --timeout 0.0004 "$empty"
expect2 'connect-timeout: expected seconds from 0\.1 to 300' --one-off --connect-timeout 0.0001 "$empty"
expect2 'refresh-interval: expected seconds from 1 to 86400, got "0\.000001"' --one-off -r 0.000001 "$empty"
expect2 'refresh-interval: .*got "nan"' --one-off --refresh-interval nan "$empty"
expect2 'timeout: .*got "inf"' --one-off --timeout inf "$empty"
expect2 'timeout: .*got "1e999"' --one-off --timeout 1e999 "$empty"
expect2 'minimum-validity: .*got "-1"' --one-off --minimum-validity -1 "$empty"
expect2 'default-validity: .*from 60 to 604800, got "0x10"' --one-off --default-validity 0x10 "$empty"
expect2 'alert-before: .*got "99999999999999999999999"' --one-off --alert-before 99999999999999999999999 "$empty"
expect2 'renewal-threads: expected a whole number from 0 to 64, got "100000"' --one-off -t 100000 "$empty"
expect2 'renewal-threads: .*got "4294967298"' --one-off -t 4294967298 "$empty"
expect2 'connect-timeout: 20 s \(command line\) is longer than timeout 10 s \(command line\)' \
	--one-off --timeout 10 --connect-timeout 20 "$empty"
ok "absurd values on the command line exit 2 naming the option and its range"

# 2. The same in the config file: FILE:LINE as well.
n=0
while IFS='|' read -r line re; do
	n=$((n + 1))
	printf '# absurd value %d\n%s\n' $n "$line" >"$T/bad$n.conf"
	expect2 "bad$n\\.conf:2: $re" -c "$T/bad$n.conf" --one-off "$empty"
done <<'EOF'
timeout = 0.0004|timeout: expected seconds from 0\.1 to 300
connect-timeout = 0.0001|connect-timeout: expected seconds
refresh-interval = 0.000001|refresh-interval: expected seconds from 1 to 86400
refresh-interval = -inf|refresh-interval: expected seconds
minimum-validity = NaN|minimum-validity: expected seconds
renewal-threads = 1000|renewal-threads: expected a whole number from 0 to 64
verbose = 99999999999|verbose: expected a whole number
default-validity = 1e-9|default-validity: expected seconds from 60
timeout = 10 seconds|timeout: expected seconds
EOF
printf 'timeout = 5\n# again\ntimeout = 6\n' >"$T/twice.conf"
expect2 'twice\.conf:3: timeout: given twice, on lines 1 and 3' -c "$T/twice.conf" --one-off "$empty"
printf 'connect-timeout = 30\n' >"$T/ct.conf"
expect2 'connect-timeout: 30 s \(.*ct\.conf:1\) is longer than timeout 15 s \(default\)' \
	-c "$T/ct.conf" --one-off "$empty"
ok "absurd values and a key given twice in the config file exit 2 naming FILE:LINE"

# 3. Files that are no config file: refused at once, not read (or waited on).
mkfifo "$T/fifo.conf"
expect2 '/dev/zero: cannot read config file \(a character device, not a regular file\)' -c /dev/zero "$empty"
expect2 'fifo\.conf: cannot read config file \(a FIFO, not a regular file\)' -c "$T/fifo.conf" "$empty"
expect2 '/etc: cannot read config file \(a directory, not a regular file\)' -c /etc "$empty"
head -c 1100000 /dev/zero | tr '\0' '#' >"$T/huge.conf"
expect2 'huge\.conf: cannot read config file \(1100000 bytes, more than the 1048576 allowed\)' -c "$T/huge.conf" "$empty"
ok "-c /dev/zero, a FIFO, /etc and a huge file exit 2 at once naming the file"

# 4. A list key on two lines: both directories watched and stapled.
a=$T/a
b=$T/b
mkdir "$a" "$b"
cp "$CERTS/good1.pem" "$a/"
cp "$CERTS/good2.pem" "$b/"
printf 'cert-paths = %s\nca-file = %s\ncert-paths = %s\n' "$a" "$CA/root.pem" "$b" >"$T/lists.conf"
run_ocspd "$T/lists.log" -c "$T/lists.conf" --one-off
[ "$RC" = 0 ] || fail "cert-paths on two lines: exit $RC"
check_staple "$a/good1.pem"
check_staple "$b/good2.pem"
ok "a list key on two lines adds: both directories stapled"

# 5. SIGHUP with a config file that became a FIFO, an out-of-range value, a key twice.
rm -f "$a"/*.ocsp "$b"/*.ocsp
conf=$T/ocspd.conf
printf 'cert-paths = %s\nca-file = %s\n' "$a" "$CA/root.pem" >"$conf"
log=$T/ocspd.log
start_ocspd "$log" -c "$conf"
pid=$OCSPD_PID
is_good() { [ "$(staple_status "$1")" = good ]; }
wait_for is_good "$a/good1.pem" || fail "a/good1.pem got no staple"
n=1
hup_refused() {	# hup_refused REGEX: SIGHUP, then a "not reloaded" line matching REGEX
	local before
	before=$(count_log "$log" "SIGHUP: configuration not reloaded")
	kill -HUP $pid
	wait_for eval '[ "$(count_log "$log" "SIGHUP: configuration not reloaded")" -gt '"$before"' ]' ||
		fail "SIGHUP ($1): no \"configuration not reloaded\" within $WAIT s"
	grep "SIGHUP: configuration not reloaded" "$log" | tail -n 1 | grep -Eq -- "$1" ||
		fail "SIGHUP: the last \"not reloaded\" line does not match /$1/"
	kill -0 $pid 2>/dev/null || fail "ocspd died on SIGHUP ($1)"
	# The old configuration is in force: a new certificate in a/ is stapled.
	n=$((n + 1))
	cp "$CERTS/good1.pem" "$a/new$n.pem"
	wait_for is_good "$a/new$n.pem" || fail "after a refused SIGHUP ($1), a/new$n.pem got no staple"
}
printf 'cert-paths = %s, %s\nca-file = %s\nrefresh-interval = 0.000001\n' "$a" "$b" "$CA/root.pem" >"$conf"
hup_refused 'ocspd\.conf:3: refresh-interval: expected seconds from 1 to 86400'
printf 'cert-paths = %s\nca-file = %s\nca-file = %s\n' "$b" "$CA/root.pem" "$CA/root.pem" >"$conf"
hup_refused 'ocspd\.conf:3: ca-file: given twice, on lines 2 and 3'
rm "$conf"
mkfifo "$conf"
hup_refused 'ocspd\.conf: cannot read config file \(a FIFO, not a regular file\)'
[ -e "$b/good2.pem.ocsp" ] && fail "b/ was stapled although no reload naming it was accepted"
stop_pid $pid TERM
[ "$RC" = 0 ] || fail "SIGTERM after the refused reloads: exit status $RC"
ok "refused SIGHUP reloads keep the old configuration; SIGTERM still stops the daemon"
pass
