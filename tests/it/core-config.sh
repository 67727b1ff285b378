#!/bin/bash
# core-config: config file, command line precedence and usage errors (issue 3).
#  - keys of the config file are the long option names; the command line wins;
#  - ~/.ocspd.conf is read when no -c is given;
#  - bad options, bad values, a missing or broken config file, an unknown key:
#    exit 2 with a message naming the problem; --help and --version exit 0.
. "$(dirname "$0")/../lib.sh"
setup
make_pki
start_responder "$PKI" "$RESP_PORT"

dir=$T/certs
mkdir "$dir"
cp "$CERTS/good1.pem" "$dir/a.pem"
cp "$CERTS/good2.pem" "$dir/b.crt"
reset() { rm -f "$dir"/*.ocsp; }

# 1. The file sets file-extensions = crt (and the path, the trust anchors).
cat >"$T/ocspd.conf" <<CONF
# test config
cert-paths = $dir
file-extensions = crt
ca-file = $CA/root.pem
one-off = true
CONF
run_ocspd "$T/ocspd-file.log" -c "$T/ocspd.conf"
[ "$RC" = 0 ] || fail "config file run exited $RC"
check_staple "$dir/b.crt"
[ -e "$dir/a.pem.ocsp" ] && fail "a.pem stapled although the config file says file-extensions = crt"
ok "config file: only .crt files"

# 2. The command line overrides the list.
reset
run_ocspd "$T/ocspd-cli.log" -c "$T/ocspd.conf" --file-extensions pem
[ "$RC" = 0 ] || fail "command line override run exited $RC"
check_staple "$dir/a.pem"
[ -e "$dir/b.crt.ocsp" ] && fail "b.crt stapled although --file-extensions pem was given"
ok "command line --file-extensions wins over the file"

# 3. ~/.ocspd.conf without -c.
reset
cp "$T/ocspd.conf" "$HOME/.ocspd.conf"
run_ocspd "$T/ocspd-home.log"
[ "$RC" = 0 ] || fail "~/.ocspd.conf run exited $RC"
check_staple "$dir/b.crt"
[ -e "$dir/a.pem.ocsp" ] && fail "~/.ocspd.conf was not applied"
rm "$HOME/.ocspd.conf"
ok "~/.ocspd.conf is read"

# 4. Usage and config errors: exit 2 and a message naming the problem.
expect2() {	# expect2 REGEX ARGS...
	local re=$1 out=$T/err.log
	shift
	: >"$out"
	run_ocspd "$out" "$@"
	[ "$RC" = 2 ] || fail "ocspd $*: exit $RC, expected 2"
	grep -Eq -- "$re" "$out" || fail "ocspd $*: message does not match /$re/: $(cat "$out")"
	: # also ends up in the log dump on failure
}
expect2 'bogus' --bogus "$dir"
expect2 'refresh-interval' --refresh-interval abc "$dir"
expect2 'refresh-interval' -r 0 "$dir"
expect2 'renewal-threads' -t nope "$dir"
expect2 'minimum-validity' --minimum-validity -5 "$dir"
expect2 'haproxy-sockets' -s /no/equals/sign "$dir"
expect2 'path' --one-off
expect2 'nonexistent\.conf' -c "$T/nonexistent.conf" "$dir"
printf 'refresh-interval = 5\n# fine so far\nno-such-key = 1\n' >"$T/unknown.conf"
expect2 "unknown\\.conf:3: unknown key \"no-such-key\"" -c "$T/unknown.conf" "$dir"
printf 'recursive = maybe\n' >"$T/badflag.conf"
expect2 'badflag\.conf:1: .*recursive' -c "$T/badflag.conf" "$dir"
printf 'refresh-interval = 5\nminimum-validity = soon\n' >"$T/badval.conf"
expect2 'badval\.conf:2: .*minimum-validity' -c "$T/badval.conf" "$dir"
printf 'this is not key value\n' >"$T/syntax.conf"
expect2 'syntax\.conf:1' -c "$T/syntax.conf" "$dir"
# An unknown key in ~/.ocspd.conf is an error too.
printf 'bogus-home-key = 1\n' >"$HOME/.ocspd.conf"
expect2 'bogus-home-key' "$dir"
rm "$HOME/.ocspd.conf"
ok "bad options and config files exit 2 naming the problem"

# 5. --help and --version.
: >"$T/help.log"
run_ocspd "$T/help.log" --help
[ "$RC" = 0 ] || fail "--help exited $RC"
for o in cert-paths file-extensions minimum-validity no-recycle haproxy-sockets one-off ca-file; do
	grep -q -- "--$o" "$T/help.log" || fail "--help does not list --$o"
done
: >"$T/version.log"
run_ocspd "$T/version.log" -V
[ "$RC" = 0 ] || fail "-V exited $RC"
grep -q ocspd "$T/version.log" || fail "-V does not print the name"
ok "--help and -V exit 0"
pass
