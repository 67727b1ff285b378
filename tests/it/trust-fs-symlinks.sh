#!/bin/bash
# trust-fs-symlinks: symlinks planted in a watched directory (issue 11, files).
# Whoever can write into a watched directory must not make root read a file
# outside it. In one watched directory, next to root-only files in $T/secret
# (watched with inotify for any open while ocspd runs):
#   a.pem + a.pem.ocsp -> secret/a.ocsp (a valid good staple of a.pem):
#       not read (a warning names a.pem.ocsp), a staple is fetched and replaces
#       the link; the target is untouched;
#   b.pem (leaf only) + b.pem.issuer -> secret/inter.pem: not read, an error
#       names b.pem.issuer, no staple;
#   c.pem (leaf only) + c.pem.issuer -> secret/big (1,500,001 bytes): not read,
#       and its size appears nowhere in the log;
#   d.pem -> secret/d.pem, a link made by uid 65534 to a root-only bundle:
#       not followed, an error names d.pem, no staple;
#   e.pem -> a good bundle, a link made by root (the operator, certbot):
#       followed, stapled, the link stays a link;
#   f.pem + f.pem.ocsp a FIFO: not read (no hang), a warning names it, a
#       fetched staple replaces it.
. "$(dirname "$0")/../lib.sh"
setup
[ "$(id -u)" = 0 ] || fail "must run as root (root-only files, chown -h)"
make_pki
start_responder "$PKI" "$RESP_PORT"
OPTS="--ca-file $CA/root.pem --timeout 5 --connect-timeout 2"

S=$T/secret D=$T/certs
mkdir -p "$S" "$D" "$T/pre"
# A good staple for a.pem, made by ocspd itself elsewhere.
cp "$CERTS/good1.pem" "$T/pre/a.pem"
run_ocspd "$T/pre.log" --one-off $OPTS "$T/pre"
[ "$RC" = 0 ] || fail "could not make a staple for the setup (exit $RC)"
install -m 600 "$T/pre/a.pem.ocsp" "$S/a.ocsp"
install -m 600 "$CA/inter.pem" "$S/inter.pem"
install -m 600 "$CERTS/good2.pem" "$S/d.pem"
head -c 1500001 /dev/urandom >"$S/big"
chmod 600 "$S/big"

cp "$CERTS/good1.pem" "$D/a.pem"
ln -s "$S/a.ocsp" "$D/a.pem.ocsp"
cp "$CERTS/issuerfile.pem" "$D/b.pem"
ln -s "$S/inter.pem" "$D/b.pem.issuer"
cat "$PKI/ca/leaves/good2.crt" "$PKI/ca/leaf.key" >"$D/c.pem"
ln -s "$S/big" "$D/c.pem.issuer"
ln -s "$S/d.pem" "$D/d.pem"
chown -h 65534 "$D/d.pem"
cp "$CERTS/good3.pem" "$T/e-target.pem"
ln -s "$T/e-target.pem" "$D/e.pem"
cp "$CERTS/good1.pem" "$D/f.pem"
mkfifo "$D/f.pem.ocsp"
before=$(cd "$S" && stat -c '%n %u:%g %a %s %Y' -- * && sha256sum -- *)

# Every open of a file in $S while ocspd runs.
python3 - "$S" "$T/opens.log" "$T/watching" <<'EOF' &
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init()
IN_OPEN, IN_ACCESS = 0x20, 0x01
if fd < 0 or libc.inotify_add_watch(fd, sys.argv[1].encode(), IN_OPEN | IN_ACCESS) < 0:
    sys.exit("inotify: " + os.strerror(ctypes.get_errno()))
open(sys.argv[3], "w").close()
with open(sys.argv[2], "a") as out:
    while True:
        buf = os.read(fd, 65536)
        i = 0
        while i < len(buf):
            wd, mask, cookie, n = struct.unpack_from("iIII", buf, i)
            name = buf[i + 16:i + 16 + n].rstrip(b"\0").decode(errors="replace")
            out.write("%s %#x\n" % (name, mask))
            out.flush()
            i += 16 + n
EOF
WATCHER=$!
track $WATCHER
wait_for test -e "$T/watching" || fail "the inotify watcher did not start"

run_ocspd "$T/ocspd.log" --one-off $OPTS "$D"
kill "$WATCHER"
wait "$WATCHER" 2>/dev/null
[ "$RC" = 1 ] || fail "one-off exited $RC, expected 1 (b, c and d have no staple)"

[ ! -s "$T/opens.log" ] || fail "ocspd opened files it must not read: $(tr '\n' ' ' <"$T/opens.log")"
after=$(cd "$S" && stat -c '%n %u:%g %a %s %Y' -- * && sha256sum -- *)
[ "$before" = "$after" ] || fail "the link targets changed: $before / $after"
ok "no file behind a planted link was opened or changed"

grep -F -- "$D/a.pem.ocsp" "$T/ocspd.log" | grep -q "symbolic link" ||
	fail "a.pem.ocsp: no line naming it as a symbolic link"
[ -f "$D/a.pem.ocsp" ] && [ ! -L "$D/a.pem.ocsp" ] || fail "a.pem.ocsp: still a link, not replaced by a staple"
check_staple "$D/a.pem"
ok "a.pem.ocsp link: named, not read, replaced by a fetched staple"

grep -F -- "$D/b.pem.issuer" "$T/ocspd.log" | grep -q "symbolic link" ||
	fail "b.pem.issuer: no error naming it as a symbolic link"
no_staple "$D/b.pem"
grep -F -- "$D/c.pem.issuer" "$T/ocspd.log" | grep -q "symbolic link" ||
	fail "c.pem.issuer: no error naming it as a symbolic link"
no_staple "$D/c.pem"
! grep -q "1500001\|1,500,001" "$T/ocspd.log" || fail "the size of c.pem.issuer's target was logged"
ok ".issuer links: named, not read, no size logged, no staple"

grep -F -- "$D/d.pem" "$T/ocspd.log" | grep -q "symbolic link made by uid 65534" ||
	fail "d.pem: no error naming it as a link of another user"
no_staple "$D/d.pem"
check_staple "$D/e.pem"
[ -L "$D/e.pem" ] && cmp -s "$T/e-target.pem" "$CERTS/good3.pem" || fail "e.pem: the link or its target changed"
ok "certificate links: another user's to a root-only file refused, root's followed"
grep -F -- "$D/f.pem.ocsp: not a regular file" "$T/ocspd.log" | grep -q warning ||
	fail "f.pem.ocsp (a FIFO): no warning naming it"
[ -f "$D/f.pem.ocsp" ] || fail "f.pem.ocsp: the FIFO was not replaced by a staple"
check_staple "$D/f.pem"
ok "a FIFO as .ocsp: named, not read, replaced"
no_temp_files end "$D"
pass
