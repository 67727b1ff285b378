#!/bin/bash
# Runs the integration tests: every tests/it/*.sh, one after the other.
# Usage: tests/run.sh [FILTER...]   (runs the tests whose name contains a FILTER)
# Each test is a standalone bash script that exits 0 (PASS) or non-zero (FAIL);
# a failing test's whole output is shown, a passing one's only its PASS line.
# Environment: OCSPD (binary under test; default <repo>/ocspd-san), KEEP=1,
# SKIP="NAME..." (leaves out the tests whose name contains one of them).
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${OCSPD:=$(cd "$here/.." && pwd)/ocspd-san}"
export OCSPD
out=$(mktemp -d "${TMPDIR:-/tmp}/ocspd-run.XXXXXX")
trap 'rm -rf "$out"' EXIT

passed=0 failed=0 failures="" start=$SECONDS
for t in "$here"/it/*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	if [ $# -gt 0 ]; then
		match=0
		for f in "$@"; do
			case $name in *"$f"*) match=1 ;; esac
		done
		[ $match = 1 ] || continue
	fi
	skip=0
	for f in ${SKIP:-}; do
		case $name in *"$f"*) skip=1 ;; esac
	done
	[ $skip = 0 ] || continue
	t0=$SECONDS
	bash "$t" >"$out/$name.out" 2>&1 </dev/null
	rc=$?
	secs=$((SECONDS - t0))
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
		printf 'PASS  %-32s %3ds\n' "$name" "$secs"
	else
		failed=$((failed + 1))
		failures="$failures $name"
		printf 'FAIL  %-32s %3ds (exit %d)\n' "$name" "$secs" "$rc"
		sed 's/^/    | /' "$out/$name.out"
	fi
done

echo "---- $passed passed, $failed failed ($((SECONDS - start)) s)${failures:+; failed:$failures}"
[ $((passed + failed)) -gt 0 ] || { echo "no test matched" >&2; exit 1; }
[ $failed -eq 0 ]
