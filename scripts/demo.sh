#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: build the base (v7.3-rc7) and the patched kernel, boot both
# under the emulated Ryzen, run the PAUSE selftest and the upstream list,
# and show what a guest spinning on PAUSE gets on each, side by side.  The
# base cannot count PAUSE exits (that is what patch 4 adds), so the base's
# figure comes from the series without patch 3, whose PAUSE interception is
# v7.3-rc7's.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/emu.sh
. "$(dirname "$0")/emu.sh"

figure() {
	local f
	f=$(ple_lines "$LOG_DIR/$1.log" | sed -n 's/^PLE: kvm_amd: \(100000 PAUSEs.*\)/\1/p')
	echo "${f:-no figure}"
}

main() {
	local base patched nosvm tests
	base=$("$REPO_DIR/scripts/build.sh" base)
	patched=$("$REPO_DIR/scripts/build.sh" patched)
	ensure_selftests
	tests="$PLE_TEST $(upstream_tests | tr '\n' ' ')"
	nosvm=$("$REPO_DIR/scripts/build.sh" --reuse mutant --without 3)
	# Two guests at a time: Bochs is single-threaded, nothing is timed.
	guest base "$base" "$tests" &
	guest patched "$patched" "$tests" || true
	wait || true
	guest without-3 "$nosvm" "$PLE_TEST" || true

	echo
	"$REPO_DIR/scripts/report.sh" --no-subtests "$LOG_DIR/base.log" \
		"$LOG_DIR/patched.log" "$LOG_DIR/without-3.log"
	echo
	echo "A guest spinning 100,000 PAUSEs with interrupts off, Bochs 'ryzen' (PauseFilter, no PFThreshold):"
	printf '  %-38s %s\n' "v7.3-rc7" \
		"$(tr -d '\r' <"$LOG_DIR/base.log" | grep -o "Unable to find stat '[a-z_]*'" | head -n 1 || echo "?") (no PAUSE-exit stat)"
	printf '  %-38s %s\n' "v7.3-rc7 interception (series - 3/5)" "$(figure without-3)"
	printf '  %-38s %s\n' "patched" "$(figure patched)"
	echo "Serial logs: $LOG_DIR/{base,patched,without-3}.log"
}

main "$@"
