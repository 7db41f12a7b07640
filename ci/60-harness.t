#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The harness's own faults, each provoked on purpose: a patch that does not
# apply is named and the tree is left at the base; a dirty tree (ours or the
# user's) is refused untouched; a missing tool names its package; an
# unreachable base says what was tried; a hung guest and a kernel panic are
# caught by the watchdog; a WARN is a complaint; an unknown machine or
# timing model is a one-line error naming the valid ones; a selftests
# install changed by hand is rebuilt, not believed; a kept boot is
# re-judged and re-run.
# shellcheck disable=SC2317 # the functions run through check()
set -euo pipefail
# shellcheck source=ci/tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=scripts/lib/guests.sh
. "$(dirname "$0")/../scripts/lib/guests.sh"
guests_init

plan 11
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$REPO_DIR/scripts/build/get-base.sh" >/dev/null 2>&1 || bail "no base tree"
patched=$("$REPO_DIR/scripts/build/build.sh" patched 2>/dev/null) || bail "the patched kernel does not build"
ensure_selftests >/dev/null 2>&1 || bail "the KVM selftests do not build"

# expect_fail RC_WANTED PATTERN CMD...: CMD fails (with RC_WANTED unless
# it is "any") and its output matches PATTERN.
expect_fail() {
	local want=$1 pattern=$2 out rc=0
	shift 2
	out=$("$@" 2>&1) || rc=$?
	echo "$out" | tail -n 5
	echo "exit status $rc"
	[ "$rc" -ne 0 ] || return 1
	[ "$want" = any ] || [ "$rc" -eq "$want" ] || return 1
	grep -qE "$pattern" <<<"$out"
}

bad_patch() {
	local wt
	mkdir "$TMP/patches"
	cp "$REPO_DIR"/patches/*.patch "$TMP/patches/"
	# Break the context of the second patch's hunk in x86.h.
	sed -i "s/^ \t\tret += modifier;$/ \t\tret += modifier * 2;/" "$TMP"/patches/0002-*.patch
	expect_fail 1 "0002-.*does not apply \(file arch/x86/kvm/x86.h\)" \
		"$REPO_DIR/scripts/build/apply-series.sh" --patches "$TMP/patches" harness || return 1
	wt=$(variant_src harness)
	[ "$(git -C "$wt" rev-parse HEAD)" = "$(git -C "$wt" rev-parse base)" ] &&
		[ ! -d "$(git -C "$wt" rev-parse --git-path rebase-apply)" ] &&
		[ -z "$(git -C "$wt" status --porcelain --untracked-files=no)" ]
}
check "a patch that does not apply is named with its file; the tree is left clean at the base" bad_patch

dirty_tree() {
	local wt rc=0
	wt=$(variant_src harness)
	echo "# a local edit" >>"$wt/Makefile"
	expect_fail 1 "uncommitted changes; refusing" \
		"$REPO_DIR/scripts/build/apply-series.sh" harness || rc=1
	tail -n 1 "$wt/Makefile" | grep -qx "# a local edit" || rc=1
	# The user's own tree, through get-base.sh --kernel, with a cache of
	# its own so that the real one is not replaced.
	expect_fail 1 "uncommitted changes" env PLE_CACHE="$TMP/cache" \
		"$REPO_DIR/scripts/build/get-base.sh" --kernel "$wt" || rc=1
	tail -n 1 "$wt/Makefile" | grep -qx "# a local edit" || rc=1
	git -C "$wt" checkout -q -- Makefile
	return "$rc"
}
check "a dirty work tree or user tree is refused and left as it was" dirty_tree

# A PATH with everything but Bochs.
missing_tool() {
	local d=$TMP/bin f
	mkdir -p "$d"
	for f in /usr/local/bin/* /usr/bin/* /bin/* /usr/sbin/* /sbin/*; do
		case "${f##*/}" in bochs*) continue ;; esac
		[ -e "$d/${f##*/}" ] || ln -s "$f" "$d/${f##*/}"
	done
	: >"$TMP/empty.img"
	expect_fail 5 "'bochs' not found: install the Debian package 'bochs'" \
		env PATH="$d" "$REPO_DIR/scripts/guest/boot-bochs.sh" --machine count-only --disk "$TMP/empty.img" --out "$TMP"
}
check "a missing tool is named with its Debian package" missing_tool

no_base() {
	expect_fail 1 "tried: Debian linux-source-7.3" env PLE_CACHE="$TMP/nobase" \
		PLE_DEB_SUITES=no-such-suite "$REPO_DIR/scripts/build/get-base.sh" &&
		[ ! -e "$TMP/nobase/src/base" ]
}
check "an unreachable base says which sources were tried" no_base

# The harness's faults do not depend on the timing model (FAST_TIMING).
TIMING=$FAST_TIMING

# boot VARIANT BZIMAGE MACHINE TIMING PARAMS TESTS: one boot through the
# guest API (group "harness"); prints what run-guest.sh printed, and
# exits with the boot's status.
boot() {
	local d
	d=$(guest harness "$@")
	cat "$d/run.out"
	return "$(boot_status "$d")"
}

# The guest hangs for real: PID 1 is an interactive shell waiting for input
# on the console, which never comes, so nothing ever prints PLE-DONE.
hang() {
	GUEST_TIMEOUT=8 expect_fail 3 "timeout: no PLE-DONE within 8 s, guest hung" \
		boot patched "$patched" count-only "$TIMING" "rdinit=/bin/sh" "$PLE_TEST"
}
check "a guest that does not finish in time is killed and reported (watchdog)" hang

panic() {
	expect_fail 4 "kernel panic" boot patched "$patched" count-only "$TIMING" \
		"rdinit=/nonexistent init=/nonexistent" "$PLE_TEST"
}
check "a kernel panic is detected and reported" panic

# A WARN prints below what the console shows ("quiet"); it taints the
# kernel W, which config/init.sh reports after the tests.  ple.taint=512
# sets that bit as a WARN would: the test still passes, the boot is not
# clean, and the complaint names the taint.
warn() {
	local d c
	d=$(guest harness patched "$patched" count-only "$TIMING" "ple.taint=512" "$PLE_TEST")
	c=$(guestlog complaints "$d") || return 1
	echo "$c"
	[ "$(guestlog result "$d" "$PLE_TEST")" = ok ] &&
		! no_complaints "$d" >/dev/null &&
		grep -q "^PLE-WARN: the kernel is tainted [0-9]* (W: a WARN fired)" <<<"$c"
}
check "a kernel tainted W (a WARN) is a complaint, reported after the tests" warn

# bad_name KIND: boot-bochs.sh with an unknown machine or timing model fails at
# once, in one line that names the valid ones.
bad_name() {
	local out rc=0 args=(--machine count-only)
	case "$1" in
	machine) args=(--machine no-such-machine) ;;
	timing) args+=(--timing no-such-model) ;;
	esac
	: >"$TMP/empty.img"
	out=$("$REPO_DIR/scripts/guest/boot-bochs.sh" "${args[@]}" --disk "$TMP/empty.img" \
		--out "$TMP" 2>&1) || rc=$?
	echo "$out (exit status $rc)"
	[ "$rc" -eq 1 ] && [ "$(wc -l <<<"$out")" -eq 1 ] || return 1
	case "$1" in
	machine) grep -q "unknown machine 'no-such-machine'.*: count-only zen intel hw-zen hw-count-only tcg-svm$" <<<"$out" ;;
	timing) grep -q "unknown timing model 'no-such-model'.*: k10-3.2ghz .*haswell-3.4ghz" <<<"$out" ;;
	esac
}
bad_names() { bad_name machine && bad_name timing; }
check "an unknown machine or timing model: one line naming the valid ones" bad_names

# The selftests' install replaced by hand without the probes (what a
# kselftest install of the tree alone gives), in a copy of the cache's:
# its stamp still matches the inputs, but it no longer holds what the stamp
# promised, so ensure_selftests builds it again, and a probe boots from it.
hand_built_install() (
	local d
	(cache_lock v-patched && cp -a "$SELFTESTS_DIR" "$TMP/selftests")
	SELFTESTS_DIR=$TMP/selftests KSFT_INSTALL=$TMP/selftests/install
	rm -f "$KSFT_INSTALL"/kvm/ple_*
	sed -i '/^kvm:ple_/d' "$KSFT_INSTALL/kselftest-list.txt"
	ensure_selftests 2>&1 | tail -n 3
	d=$(guest harness patched "$patched" count-only "$TIMING" "" kvm:ple_probe)
	[ "$(boot_status "$d")" -eq 0 ] || { boot_failure "$d"; return 1; }
	[ "$(guestlog result "$d" kvm:ple_probe)" = ok ]
)
check "a selftests install changed by hand is rebuilt, not believed: a probe boots from it" \
	hand_built_install

# After all that, a normal run still works (nothing was left behind).
still_works() {
	local d
	d=$(guest harness patched "$patched" count-only "$TIMING" "" "$PLE_TEST")
	echo "$d" >"$TMP/ok-boot"
	[ "$(guestlog result "$d" "$PLE_TEST")" = ok ]
}
check "a normal run afterwards still passes" still_works

# That boot, kept: the reader judges its directory without booting, and
# the directory's rerun script boots it again (into another directory)
# to the same verdict.
rerun_same() {
	local d verdict again
	d=$(cat "$TMP/ok-boot")
	verdict=$(guestlog judge "$d")
	echo "$verdict"
	grep -qx "boot: finished (status 0)" <<<"$verdict" || return 1
	"$d/rerun" "$TMP/rerun" >"$TMP/rerun.out" 2>&1 || { tail -n 15 "$TMP/rerun.out"; return 1; }
	again=$(guestlog judge "$TMP/rerun")
	diff <(echo "$verdict") <(echo "$again") || {
		# The rerun's directory goes with TMP: say here why it differs.
		echo "rerun: $(guestlog why "$TMP/rerun" "$PLE_TEST")"
		guestlog complaints "$TMP/rerun"
		guestlog complaints --known "$TMP/rerun"
		return 1
	}
}
check "a kept boot is re-judged from its directory, and its rerun script reproduces its verdict" rerun_same

done_testing
