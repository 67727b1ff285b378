#!/bin/bash
# Runs the integration tests: every tests/it/*.sh, JOBS at a time.
# Usage: tests/run.sh [FILTER...]   (runs the tests whose name contains a FILTER)
# Each test is a standalone bash script that exits 0 (PASS) or non-zero (FAIL);
# a failing test's whole output is shown, a passing one's only its PASS line.
# Tests pick free ports and private directories, so they can run side by
# side; most of their time is spent waiting on timers, not on the CPU.
# Environment: OCSPD (binary under test; default <repo>/ocspd-san), KEEP=1,
# SKIP="NAME..." (leaves out the tests whose name contains one of them),
# JOBS (tests run at once; default 3, JOBS=1 runs them one after the other).
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${OCSPD:=$(cd "$here/.." && pwd)/ocspd-san}"
: "${JOBS:=3}"
export OCSPD
out=$(mktemp -d "${TMPDIR:-/tmp}/ocspd-run.XXXXXX")
trap 'rm -rf "$out"' EXIT

# The tests to run, in name order.
names=()
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
	[ $skip = 0 ] && names+=("$name")
done
[ ${#names[@]} -gt 0 ] || { echo "no test matched" >&2; exit 1; }

# One test: its output in $out/NAME.out, its exit code and seconds in NAME.rc.
run_one() {
	local name=$1 t0=$SECONDS rc
	bash "$here/it/$name.sh" >"$out/$name.out" 2>&1 </dev/null
	rc=$?
	echo "$rc $((SECONDS - t0))" >"$out/$name.rc"
}

report() {
	local name=$1 rc secs
	read -r rc secs <"$out/$name.rc"
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		printf 'PASS  %-32s %3ds\n' "$name" "$secs"
	else
		failed=$((failed + 1))
		failures="$failures $name"
		printf 'FAIL  %-32s %3ds (exit %d)\n' "$name" "$secs" "$rc"
		sed 's/^/    | /' "$out/$name.out"
	fi
}

passed=0 failed=0 failures="" start=$SECONDS
declare -A pid_of=()
for name in "${names[@]}"; do
	while [ ${#pid_of[@]} -ge "$JOBS" ]; do
		wait -n -p done_pid
		for n in "${!pid_of[@]}"; do
			[ "${pid_of[$n]}" = "$done_pid" ] && { report "$n"; unset "pid_of[$n]"; }
		done
	done
	run_one "$name" &
	pid_of[$name]=$!
done
for n in "${!pid_of[@]}"; do
	wait "${pid_of[$n]}"
	report "$n"
done

echo "---- $passed passed, $failed failed ($((SECONDS - start)) s)${failures:+; failed:$failures}"
[ $failed -eq 0 ]
