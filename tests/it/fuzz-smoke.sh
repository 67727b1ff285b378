#!/bin/bash
# fuzz-smoke: builds every libFuzzer target (fuzz/Makefile) and runs each for
# FUZZ_SECONDS (default 10) on its seed corpus; fails on any crash, leak,
# sanitizer report or assertion in a target.
. "$(dirname "$0")/../lib.sh"
setup
command -v clang >/dev/null || fail "clang is not installed (scripts/deps.sh)"
make -C "$ROOT/fuzz" --no-print-directory -j2 run FUZZ_SECONDS="${FUZZ_SECONDS:-10}" >"$T/fuzz.log" 2>&1 ||
	fail "make -C fuzz run failed: $(tail -n 40 "$T/fuzz.log")"
n=$(grep -c "^== fuzz_" "$T/fuzz.log")
[ "$n" -ge 3 ] || fail "only $n fuzz targets ran"
grep "^fuzz_" "$T/fuzz.log"
pass "$n fuzz targets"
