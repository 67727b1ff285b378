#!/bin/bash
# The documentation matches the program: every option that --help lists is in
# the man page and in the README, and the man page lists no option the program
# does not know.
. "$(dirname "$0")/../lib.sh"
setup

"$OCSPD" --help >"$T/help.txt" || fail "--help exited non-zero"
grep -oE -- '--[a-z][a-z-]+' "$T/help.txt" | sort -u >"$T/help.opts"
[ "$(wc -l <"$T/help.opts")" -ge 20 ] || fail "--help lists too few options"
# roff writes "\-\-name"; turn it back into --name.
sed 's/\\-/-/g' "$ROOT/man/ocspd.8" | grep -oE -- '--[a-z][a-z-]+' | sort -u >"$T/man.opts"
missing=$(comm -23 "$T/help.opts" "$T/man.opts")
[ -z "$missing" ] || fail "options in --help but not in man/ocspd.8: $missing"
extra=$(comm -13 "$T/help.opts" "$T/man.opts")
[ -z "$extra" ] || fail "options in man/ocspd.8 that --help does not know: $extra"
ok "man page and --help list the same options"
for o in $(cat "$T/help.opts"); do
	grep -q -- "$o" "$ROOT/README.md" || fail "README.md does not mention $o"
done
ok "README mentions every option"
# The README's usage block is --help's option list, line for line.
grep -E '^  -' "$T/help.txt" | while IFS= read -r line; do
	grep -qxF -- "$line" "$ROOT/README.md" || { echo "$line"; }
done >"$T/stale.txt"
[ ! -s "$T/stale.txt" ] || fail "README usage block differs from --help: $(cat "$T/stale.txt")"
ok "README usage block matches --help"
# ocspd.conf(5) has a key for every long option but config, version and help.
grep -vxE -- '--(config|version|help)' "$T/help.opts" | sed 's/^--//' >"$T/keys.want"
sed -n 's/^\.BI \([a-z-]*\) .*/\1/p' "$ROOT/man/ocspd.conf.5" | sort -u >"$T/keys.have"
[ "$(comm -3 "$T/keys.want" "$T/keys.have")" = "" ] ||
	fail "man/ocspd.conf.5 keys differ from the options: $(comm -3 "$T/keys.want" "$T/keys.have" | tr '\n' ' ')"
ok "ocspd.conf(5) lists every config key"
"$OCSPD" --version | grep -qE '^ocspd [0-9]+\.[0-9]+' || fail "--version"
grep -q "$("$OCSPD" --version)" "$ROOT/man/ocspd.8" || fail "man page version differs from --version"
ok "--version matches the man page"
pass
