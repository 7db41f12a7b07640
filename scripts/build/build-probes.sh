#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# build-probes.sh SRC OUT
#
# Builds every probes/*.c (calibration probes written against the KVM
# selftests library, not part of the series) statically, the way the kvm
# Makefile of SRC builds its tests, and installs them into the kselftest
# tree that scripts/build/build-selftests.sh SRC OUT made: OUT/install/kvm/NAME,
# listed as kvm:NAME in OUT/install/kselftest-list.txt, so that
# run-guest.sh --tests kvm:NAME runs them.  build-selftests.sh runs it.
#
# The kvm Makefile of v7.3 makes no libkvm.a: it links the library's objects
# (LIBKVM_OBJS, in OUT/kselftest/kvm) into every test.  This script asks the
# Makefile for LIBKVM_OBJS, CC, CFLAGS, LDFLAGS and LDLIBS (with the O=OUT
# header path and USERLDFLAGS=-static of build-selftests.sh), archives the
# objects into OUT/probes/libkvm.a and links it whole, as the Makefile does.
# Compiles run in SRC's tools/testing/selftests/kvm (CFLAGS has relative
# -I paths); every output goes to OUT/probes.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"

PROBE_DIR=$REPO_DIR/probes

usage() {
	echo "usage: ${0##*/} [-h|--help] SRC OUT"
	echo "  SRC  kernel source tree (read-only), as given to build-selftests.sh"
	echo "  OUT  its output directory; probes are installed in OUT/install/kvm"
}

parse_args() {
	case "${1:-}" in -h | --help) usage; exit 0 ;; esac
	[[ $# -eq 2 ]] || bad_usage "expected SRC and OUT"
	[[ -f $1/tools/testing/selftests/kvm/Makefile ]] ||
		die "SRC '$1' has no tools/testing/selftests/kvm/Makefile"
	[[ -d $2 ]] || die "OUT '$2' does not exist: run scripts/build/build-selftests.sh $1 $2 (the selftests and the probes)"
	SRC=$(cd "$1" && pwd)
	OUT=$(cd "$2" && pwd -P)
	KVM_DIR=$SRC/tools/testing/selftests/kvm
	OBJ_DIR=$OUT/kselftest/kvm
	INST=$OUT/install
	[[ -f $OBJ_DIR/lib/kvm_util.o && -d $OUT/usr/include ]] ||
		die "no KVM selftests library in $OBJ_DIR: run scripts/build/build-selftests.sh $SRC $OUT (the selftests and the probes)"
	[[ -f $INST/kselftest-list.txt && -d $INST/kvm ]] ||
		die "no kselftest install in $INST: run scripts/build/build-selftests.sh $SRC $OUT (the selftests and the probes)"
}

check_tools() {
	need_cmd make make
	need_cmd gcc gcc
	need_cmd ar binutils
	need_cmd readelf binutils
}

# make_var NAME: the kvm Makefile's value of NAME for this build; the
# probe source is a prerequisite so that CFLAGS' -I$(<D) names its dir.
make_var() {
	# shellcheck disable=SC2016 # $(...) are make expansions
	printf 'include Makefile\nprint-var: %s\n\t@echo $(%s)\n' "$PROBE_SRC" "$1" |
		make -s -C "$KVM_DIR" -f - ARCH=x86 OUTPUT="$OBJ_DIR" \
			KHDR_INCLUDES="-isystem $OUT/usr/include" USERLDFLAGS=-static \
			TMPOUT="$OUT/probes/.tmp_\$\$\$\$" print-var ||
		die "cannot read $1 from $KVM_DIR/Makefile.kvm"
}

read_flags() {
	local v val
	for v in CC CFLAGS LDFLAGS LDLIBS LIBKVM_OBJS; do
		val=$(make_var "$v") || exit 1
		read -ra "MK_$v" <<<"$val"
	done
	[[ ${#MK_LIBKVM_OBJS[@]} -gt 0 ]] || die "empty LIBKVM_OBJS from $KVM_DIR/Makefile.kvm"
}

make_libkvm() {
	local o
	for o in "${MK_LIBKVM_OBJS[@]}"; do
		[[ -f $o ]] || die "$o missing: run scripts/build/build-selftests.sh $SRC $OUT (the selftests and the probes)"
	done
	rm -f "$LIBKVM"
	ar rcs "$LIBKVM" "${MK_LIBKVM_OBJS[@]}" || die "ar failed making $LIBKVM"
}

# build_probe FILE.c: compile, link statically, check, install, list.
build_probe() {
	local name bin
	name=$(basename "$1" .c)
	bin=$OUT/probes/$name
	log "building $name"
	(cd "$KVM_DIR" &&
		"${MK_CC[@]}" "${MK_CFLAGS[@]}" -c "$1" -o "$bin.o" &&
		"${MK_CC[@]}" "${MK_CFLAGS[@]}" "${MK_LDFLAGS[@]}" "$bin.o" \
			-Wl,--whole-archive "$LIBKVM" -Wl,--no-whole-archive \
			"${MK_LDLIBS[@]}" -o "$bin") >"$bin.log" 2>&1 || {
		cat "$bin.log" >&2
		die "building $1 failed (see $bin.log)"
	}
	! readelf -l "$bin" | grep -q INTERP || die "$bin is not statically linked"
	install -m 755 "$bin" "$INST/kvm/$name"
	grep -qxF "kvm:$name" "$INST/kselftest-list.txt" ||
		echo "kvm:$name" >>"$INST/kselftest-list.txt"
}

main() {
	local f probes=()
	parse_args "$@"
	check_tools
	for f in "$PROBE_DIR"/*.c; do [[ -f $f ]] && probes+=("$f"); done
	[[ ${#probes[@]} -gt 0 ]] || die "no probes in $PROBE_DIR"
	# The install changes: its stamp (build-selftests.sh) promises no more.
	rm -f "$OUT/$SELFTESTS_STAMP"
	mkdir -p "$OUT/probes"
	LIBKVM=$OUT/probes/libkvm.a
	PROBE_SRC=${probes[0]}
	read_flags
	make_libkvm
	for f in "${probes[@]}"; do build_probe "$f"; done
	log "${#probes[@]} probe(s) installed in $INST/kvm"
}

main "$@"
