#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# KVM-unit-tests on the base and the patched kernel, as
# Documentation/process/maintainer-kvm-x86.rst asks: a failure must be
# exactly the same without the change.  The tests of ci/kut-tests.txt run
# under Debian's QEMU with KVM inside the Bochs guest (config/init.sh, KUT
# mode; scripts/lib/guests.sh kut_stage), on the machines intel and zen (a
# Bochs 3.1 you build, PLE_BOCHS; its points skip without it) of
# config/machines; not on count-only, whose Bochs 2.7 stops at the second
# QEMU guest of a boot (ci/kut-tests.txt).  No test may pass on the base and fail with the series, every
# failure must have the same FAIL lines on both kernels, and neither kernel
# may complain (WARN, BUG, Oops, UBSAN).  The table, with the
# KVM-unit-tests commit, is kept in $RUNS_DIR/kut/table.txt for the cover
# letter.  A runner only: PLE_KUT_DIR names a kvm-unit-tests tree the user
# built (its x86/*.flat); nothing here builds them, and without it
# everything skips, saying so.
# shellcheck disable=SC2317 # the functions run through check()
set -euo pipefail
# shellcheck source=ci/tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=scripts/lib/guests.sh
. "$(dirname "$0")/../scripts/lib/guests.sh"
guests_init

MACHINES_ALL=(intel zen)
TABLE=$RUNS_DIR/kut/table.txt
PER_CPU=4
plan $((${#MACHINES_ALL[@]} * PER_CPU))
machines_here "${MACHINES_ALL[@]}"
[ -z "${UNAVAILABLE[intel]}" ] || skip_all "${UNAVAILABLE[intel]}"
# CPUS: the machines that boot here.
CPUS=()
for m in "${MACHINES_ALL[@]}"; do [ -n "${UNAVAILABLE[$m]}" ] || CPUS+=("$m"); done

kut=${PLE_KUT_DIR:-}
if [ -z "$kut" ]; then
	skip_all "no KVM-unit-tests: set PLE_KUT_DIR to a kvm-unit-tests tree you built" \
		"(./configure && make: its x86/*.flat); nothing here builds them"
fi
compgen -G "$kut/x86/*.flat" >/dev/null ||
	bail "PLE_KUT_DIR=$kut has no x86/*.flat: build kvm-unit-tests there first (make)"
# kut_commit: what the table names the tree by.
kut_commit() { git -C "$kut" describe --always --dirty 2>/dev/null || echo "$kut (not a git tree)"; }
# shellcheck disable=SC2034 # read as ${!k} by kut_specs
base=$("$REPO_DIR/scripts/build/build.sh" base) || bail "the base kernel does not build"
# shellcheck disable=SC2034 # read as ${!k} by kut_specs
patched=$("$REPO_DIR/scripts/build/build.sh" patched) || bail "the patched kernel does not build"

STAGES=$(mktemp -d "${TMPDIR:-/tmp}/ple-kut.XXXXXX")
trap 'rm -rf "$STAGES"' EXIT

# Every guest first, as many at a time as CPUs; DIR[KERNEL-CPU]: its boot.
kut_specs() {
	local cpu k
	for cpu in "${CPUS[@]}"; do
		kut_stage "$STAGES/$cpu" "$kut" "$cpu"
		for k in base patched; do kut_spec "$k" "${!k}" "$STAGES/$cpu" "$cpu"; done
	done
}
mapfile -t DIRS < <(kut_specs | run_guests kut)
declare -A DIR
i=0
for cpu in "${CPUS[@]}"; do
	for k in base patched; do DIR[$k-$cpu]=${DIRS[$i]}; i=$((i + 1)); done
done

# names CPU: the tests of CPU, in the list's order.
names() { kut_tests "$1" | cut -d'|' -f1; }

# signature LOG NAME: what must be equal on both kernels: the result, and
# for a failure the directive and every FAIL line of the test's output.
signature() {
	local r
	r=$(guestlog result "$1" "kut:$2")
	echo "$r"
	[ "$r" = ok ] || [ "$r" = skip ] || {
		guestlog why "$1" "kut:$2"
		guestlog output "$1" "kut:$2" | grep -E '^FAIL' || true
	}
}

# cell LOG NAME: ok, skip, FAIL (its first FAIL line's position), cut.
cell() {
	case "$(guestlog result "$1" "kut:$2")" in
	ok) echo ok ;;
	skip) echo skip ;;
	fail) echo FAIL ;;
	*) echo "none" ;;
	esac
}

booted() {
	local log=${DIR[$1-$2]}
	[ "$(boot_status "$log")" -eq 0 ] || { boot_failure "$log"; return 1; }
	no_complaints "$log"
}

# no_regression CPU: no test ok (or skip) on the base and failing with the
# series; no test without a result.
no_regression() {
	local t b p bad=0
	for t in $(names "$1"); do
		b=$(guestlog result "${DIR[base-$1]}" "kut:$t")
		p=$(guestlog result "${DIR[patched-$1]}" "kut:$t")
		if [ "$p" = none ] || [ "$b" = none ]; then
			echo "$t: no result (base $b, patched $p)"; bad=1
		elif [ "$b" != fail ] && [ "$p" = fail ]; then
			echo "$t: $b on the base, fails with the series:"
			signature "${DIR[patched-$1]}" "$t" | sed 's/^/  /'; bad=1
		fi
	done
	return "$bad"
}

# same_failures CPU: every test that fails, fails with the same lines on
# both kernels.
same_failures() {
	local t b p bad=0
	for t in $(names "$1"); do
		b=$(signature "${DIR[base-$1]}" "$t")
		p=$(signature "${DIR[patched-$1]}" "$t")
		[ "${b%%$'\n'*}" = fail ] || [ "${p%%$'\n'*}" = fail ] || continue
		if [ "$b" = "$p" ]; then
			echo "$t: the same failure on both kernels:"
			echo "$b" | tail -n +2 | sed 's/^/  /'
		else
			echo "$t: the failures differ"
			diff <(echo "$b") <(echo "$p") | sed 's/^/  /' || true
			bad=1
		fi
	done
	return "$bad"
}

mkdir -p "${TABLE%/*}"
: >"$TABLE"
{
	echo "KVM-unit-tests $(kut_commit) under $("$KUT_QEMU" --version | head -n1)"
	echo "with KVM, in the Bochs guest (ci/35-kut.t; the list: ci/kut-tests.txt)"
} >>"$TABLE"
for cpu in "${MACHINES_ALL[@]}"; do
	check_on "$cpu" "the base kernel boots and runs KVM-unit-tests on $cpu, no kernel complaint" booted base "$cpu"
	check_on "$cpu" "the patched kernel boots and runs KVM-unit-tests on $cpu, no kernel complaint" booted patched "$cpu"
	check_on "$cpu" "no KVM-unit-test fails on $cpu with the series that does not on the base" no_regression "$cpu"
	check_on "$cpu" "every KVM-unit-tests failure on $cpu is the same on both kernels" same_failures "$cpu"
	[ -z "${UNAVAILABLE[$cpu]}" ] || continue
	{
		printf '\n%-28s %-8s %s\n' "$cpu ($(machine_field "$cpu" cpu))" base patched
		for t in $(names "$cpu"); do
			printf '%-28s %-8s %s\n' "$t" "$(cell "${DIR[base-$cpu]}" "$t")" \
				"$(cell "${DIR[patched-$cpu]}" "$t")"
		done
		for t in $(names "$cpu"); do
			[ "$(guestlog result "${DIR[base-$cpu]}" "kut:$t")" = fail ] ||
				[ "$(guestlog result "${DIR[patched-$cpu]}" "kut:$t")" = fail ] || continue
			echo "  $t: base: $(guestlog why "${DIR[base-$cpu]}" "kut:$t")"
			echo "  $t: patched: $(guestlog why "${DIR[patched-$cpu]}" "kut:$t")"
		done
	} >>"$TABLE"
done
diag "$(cat "$TABLE")"

done_testing
