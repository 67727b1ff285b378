#!/bin/bash
# svc-install: make install (issue 7).
#  - DESTDIR/PREFIX lay out the binary, both man pages, the systemd unit and
#    the example config, with their modes; the unit's ExecStart follows PREFIX
#    and is the only line that differs from contrib/ocspd.service;
#  - a second install leaves an existing etc/ocspd/ocspd.conf alone;
#  - systemd-analyze verify accepts the installed unit, and groff -ww finds
#    nothing to warn about in the man pages.
# Installs the already-built ./ocspd (make -o ocspd: never rebuilt here).
. "$(dirname "$0")/../lib.sh"
setup
[ -x "$ROOT/ocspd" ] || fail "no $ROOT/ocspd: run make ocspd first"

install_to() { make --no-print-directory -C "$ROOT" -o ocspd install "$@" >>"$T/install.log" 2>&1; }

R=$T/root
install_to DESTDIR="$R" PREFIX=/usr || fail "make install DESTDIR=$R PREFIX=/usr failed"
for f in 755:usr/sbin/ocspd 644:usr/share/man/man8/ocspd.8 644:usr/share/man/man5/ocspd.conf.5 \
	644:usr/lib/systemd/system/ocspd.service 644:etc/ocspd/ocspd.conf; do
	[ -f "$R/${f#*:}" ] || fail "not installed: ${f#*:}"
	[ "$(stat -c %a "$R/${f#*:}")" = "${f%%:*}" ] ||
		fail "${f#*:}: mode $(stat -c %a "$R/${f#*:}"), expected ${f%%:*}"
done
[ "$("$R/usr/sbin/ocspd" --version)" = "$("$ROOT/ocspd" --version)" ] || fail "installed binary differs"
cmp -s "$R/etc/ocspd/ocspd.conf" "$ROOT/contrib/ocspd.conf" || fail "etc/ocspd/ocspd.conf is not contrib/ocspd.conf"
unit=$R/usr/lib/systemd/system/ocspd.service
grep -qx 'ExecStart=/usr/sbin/ocspd -c /etc/ocspd/ocspd.conf' "$unit" ||
	fail "ExecStart: $(grep ExecStart= "$unit")"
changed=$(diff "$ROOT/contrib/ocspd.service" "$unit" | grep -c '^[<>]')
[ "$changed" = 2 ] || fail "the installed unit differs from contrib/ocspd.service in more than ExecStart"
ok "PREFIX=/usr: files and modes, ExecStart=/usr/sbin/ocspd"

# The operator's config survives a second install.
echo "# edited by the operator" >>"$R/etc/ocspd/ocspd.conf"
install_to DESTDIR="$R" PREFIX=/usr || fail "second make install failed"
grep -qx '# edited by the operator' "$R/etc/ocspd/ocspd.conf" || fail "second install overwrote etc/ocspd/ocspd.conf"
ok "an existing ocspd.conf is kept"

# Default PREFIX: /usr/local.
install_to DESTDIR="$T/root2" || fail "make install DESTDIR=$T/root2 failed"
[ -x "$T/root2/usr/local/sbin/ocspd" ] || fail "default PREFIX: no usr/local/sbin/ocspd"
grep -qx 'ExecStart=/usr/local/sbin/ocspd -c /etc/ocspd/ocspd.conf' \
	"$T/root2/usr/local/lib/systemd/system/ocspd.service" || fail "default PREFIX: ExecStart"
ok "default PREFIX=/usr/local"

# systemd-analyze verify wants ExecStart to exist on this machine and runs man
# for Documentation=: point both at the DESTDIR copy. Nothing may be printed.
if command -v systemd-analyze >/dev/null; then
	mkdir "$T/unit"
	sed "s|^ExecStart=/usr/sbin/ocspd|ExecStart=$R/usr/sbin/ocspd|" "$unit" >"$T/unit/ocspd.service"
	MANPATH=$R/usr/share/man systemd-analyze verify "$T/unit/ocspd.service" >"$T/verify.log" 2>&1 ||
		fail "systemd-analyze verify failed: $(cat "$T/verify.log")"
	[ ! -s "$T/verify.log" ] || fail "systemd-analyze verify warns: $(cat "$T/verify.log")"
	ok "systemd-analyze verify accepts the unit"
else
	echo "skip - no systemd-analyze: unit not verified"
fi

if command -v groff >/dev/null; then
	for m in "$R/usr/share/man/man8/ocspd.8" "$R/usr/share/man/man5/ocspd.conf.5"; do
		groff -man -Tutf8 -ww -z "$m" >"$T/groff.log" 2>&1 || fail "groff failed on $m"
		[ ! -s "$T/groff.log" ] || fail "groff warns on ${m##*/}: $(head -5 "$T/groff.log")"
	done
	ok "groff -ww: no warnings in ocspd.8 and ocspd.conf.5"
else
	echo "skip - no groff: man pages not checked"
fi
pass
