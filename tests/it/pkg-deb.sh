#!/bin/bash
# pkg-deb: debian/ builds a working package (issue 7).
#  - dpkg-buildpackage -us -uc -b succeeds on a copy of the working tree
#    (tracked files as they are now, plus untracked ones not ignored);
#  - the .deb holds /usr/sbin/ocspd (0755), both man pages gzipped, the unit
#    once with ExecStart=/usr/sbin/ocspd, and /etc/ocspd/ocspd.conf as a
#    conffile; its version is src/version.h's; Depends names the shared
#    libraries (shlibs); postinst enables and starts the unit; the binary is
#    linked with the hardening flags (full RELRO);
#  - the packaged binary prints that version.
# Everything happens under $T: the package is only inspected and unpacked
# there with dpkg-deb, never installed on this machine.
. "$(dirname "$0")/../lib.sh"
setup
command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null ||
	fail "dpkg-buildpackage or debhelper missing: run scripts/deps.sh all"

ver=$(sed -n 's/^#define OCSPD_VERSION "\(.*\)"$/\1/p' "$ROOT/src/version.h")
[ -n "$ver" ] || fail "no OCSPD_VERSION in src/version.h"
arch=$(dpkg --print-architecture)

# The working tree as it is (not HEAD): what git would track, minus files
# deleted but not yet committed. dpkg-buildpackage writes its output next to
# the tree, so the copy sits one level down in $T.
S=$T/ocspd-$ver
mkdir -p "$S"
git -C "$ROOT" ls-files -co --exclude-standard -z |
	while IFS= read -r -d '' f; do
		[ -e "$ROOT/$f" ] || [ -L "$ROOT/$f" ] || continue
		printf '%s\0' "$f"
	done | tar -C "$ROOT" --null -T - -cf - | tar -C "$S" -xf - || fail "copying the tree"
[ -x "$S/debian/rules" ] || fail "no executable debian/rules in the tree"

export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=$(nproc)}"
(cd "$S" && dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1 || {
	tail -n 40 "$T/build.log"
	fail "dpkg-buildpackage -us -uc -b failed (tail of the log above)"
}
deb=$T/ocspd_${ver}_${arch}.deb
[ -f "$deb" ] || fail "no $(basename "$deb"); built: $(cd "$T" && ls -- *.deb 2>/dev/null | tr '\n' ' ')"
ok "dpkg-buildpackage -us -uc -b built $(basename "$deb")"

# Contents, as dpkg-deb lists them: "MODE OWNER SIZE DATE TIME ./PATH".
dpkg-deb -c "$deb" >"$T/contents" || fail "dpkg-deb -c"
mode_of() { awk -v p="./$1" '$6 == p { print $1 }' "$T/contents"; }
[ "$(mode_of usr/sbin/ocspd)" = "-rwxr-xr-x" ] || fail "usr/sbin/ocspd: '$(mode_of usr/sbin/ocspd)'"
for f in usr/share/man/man8/ocspd.8.gz usr/share/man/man5/ocspd.conf.5.gz etc/ocspd/ocspd.conf \
	usr/share/doc/ocspd/copyright; do
	[ "$(mode_of "$f")" = "-rw-r--r--" ] || fail "$f: '$(mode_of "$f")'"
done
[ "$(awk '$2 != "root/root"' "$T/contents")" = "" ] || fail "files not owned by root: $(awk '$2 != "root/root"' "$T/contents")"
units=$(grep -cE ' \./(usr/)?lib/systemd/system/ocspd\.service$' "$T/contents")
[ "$units" = 1 ] || fail "ocspd.service is in the package $units times"
ok "binary, man pages, unit, config, copyright; modes and owners"

X=$T/x
dpkg-deb -x "$deb" "$X" || fail "dpkg-deb -x"
unit=$(ls "$X"/lib/systemd/system/ocspd.service "$X"/usr/lib/systemd/system/ocspd.service 2>/dev/null)
grep -qx 'ExecStart=/usr/sbin/ocspd -c /etc/ocspd/ocspd.conf' "$unit" || fail "unit: $(grep ExecStart= "$unit")"
cmp -s "$X/etc/ocspd/ocspd.conf" "$ROOT/contrib/ocspd.conf" || fail "/etc/ocspd/ocspd.conf is not contrib/ocspd.conf"
for m in man8/ocspd.8 man5/ocspd.conf.5; do
	gzip -dc "$X/usr/share/man/$m.gz" | cmp -s - "$ROOT/man/${m#*/}" || fail "$m.gz is not man/${m#*/}"
done
ok "unit's ExecStart=/usr/sbin/ocspd; config and man pages are the sources"

# Control data: version, shlibs dependencies, conffiles, maintainer scripts.
[ "$(dpkg-deb -f "$deb" Version)" = "$ver" ] || fail "Version: $(dpkg-deb -f "$deb" Version), src/version.h: $ver"
deps=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libssl3 libcurl4 libev4 libinih1 libsystemd0 libmicrohttpd libjson-c; do
	grep -qE "(^|, )$lib[^ ,]*( |,|\$)" <<<"$deps" || fail "Depends lacks $lib: $deps"
done
ok "Version $ver; Depends: $deps"
C=$T/control
dpkg-deb -e "$deb" "$C" || fail "dpkg-deb -e"
grep -qx /etc/ocspd/ocspd.conf "$C/conffiles" || fail "conffiles: $(cat "$C/conffiles" 2>/dev/null)"
grep -q "deb-systemd-helper enable 'ocspd.service'" "$C/postinst" || fail "postinst does not enable ocspd.service"
grep -qE "deb-systemd-invoke (start|restart|\\\$_dh_action) 'ocspd.service'" "$C/postinst" ||
	fail "postinst does not start ocspd.service"
grep -q "deb-systemd-invoke stop 'ocspd.service'" "$C/prerm" || fail "prerm does not stop ocspd.service"
grep -q "deb-systemd-helper purge 'ocspd.service'" "$C/postrm" || fail "postrm does not purge ocspd.service"
ok "ocspd.conf is a conffile; the maintainer scripts enable, start, stop and purge the unit"

# dpkg-buildflags (hardening=+all) reached the link: full RELRO.
readelf -lW "$X/usr/sbin/ocspd" | grep -q GNU_RELRO || fail "packaged binary has no RELRO"
readelf -dW "$X/usr/sbin/ocspd" | grep -qE 'BIND_NOW|FLAGS.*\bNOW\b' || fail "packaged binary is not linked -z now"
ok "packaged binary: full RELRO"

out=$("$X/usr/sbin/ocspd" --version 2>&1) || fail "packaged ocspd --version exited non-zero: $out"
[ "$out" = "ocspd $ver" ] || fail "packaged ocspd --version: '$out', expected 'ocspd $ver'"
ok "packaged ocspd --version: $out"
pass
