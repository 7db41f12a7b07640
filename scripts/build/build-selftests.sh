#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# build-selftests.sh SRC OUT
#
# Builds the KVM selftests of SRC statically (USERLDFLAGS=-static; the kvm
# Makefile adds -pthread -no-pie itself) against SRC's own UAPI headers
# (`make headers_install` into OUT/usr/include), out of tree (O=OUT: objects
# in OUT/kselftest/kvm, SRC stays clean), installs them with kselftest's
# own install target into OUT/install (run_kselftest.sh, kselftest/,
# kselftest-list.txt, kvm/<tests>), then this project's probes beside them
# (scripts/build/build-probes.sh: kvm:ple_probe...).
#
# OUT/.ple-inputs (SELFTESTS_STAMP), written last, is the hash of what the install was made
# from (SRC's state, probes/, the build scripts, libc, the compiler): with
# the same inputs, and the install complete (run_kselftest.sh, every probe
# listed and installed), nothing is built.  It is removed before OUT is
# touched, so a build that fails or is cut leaves no promise behind.
#
# Every x86 KVM test is built: ~25 s on 2 cores without ccache.
# TMPOUT moves the try-run scratch directories of tools/build/Build.include
# (default: the current directory, i.e. inside SRC) to OUT.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"

usage() {
	echo "usage: ${0##*/} [-h|--help] SRC OUT"
	echo "  SRC      kernel source tree (read-only)"
	echo "  OUT      output directory; tests and probes are installed in OUT/install"
}

parse_args() {
	local pos
	parse_opts '' '' "$@"
	pos=("${ARGS[@]}")
	[[ ${#pos[@]} -eq 2 ]] || bad_usage "expected SRC and OUT"
	[[ -f ${pos[0]}/tools/testing/selftests/kvm/Makefile ]] ||
		die "SRC '${pos[0]}' has no tools/testing/selftests/kvm/Makefile"
	SRC=$(cd "${pos[0]}" && pwd)
	mkdir -p "${pos[1]}" || die "cannot create '${pos[1]}'"
	OUT=$(cd "${pos[1]}" && pwd -P)
	[[ $OUT != "$SRC" ]] || die "OUT must differ from SRC (SRC is read-only)"
	KSFT=$SRC/tools/testing/selftests
	STAMP=$OUT/$SELFTESTS_STAMP
}

check_tools() {
	need_cmd make make
	need_cmd gcc gcc
	need_cmd rsync rsync
	[[ -f /usr/lib/x86_64-linux-gnu/libc.a ]] ||
		die "static libc.a not found: install libc6-dev"
	# The kvm tests link libvfio, which needs libuuid (statically here).
	[[ -f /usr/lib/x86_64-linux-gnu/libuuid.a && -f /usr/include/uuid/uuid.h ]] ||
		die "libuuid.a/uuid.h not found: install uuid-dev"
}

install_headers() {
	log "make headers_install -> $OUT/usr/include"
	make -C "$SRC" O="$OUT" -s -j"$(njobs)" headers_install \
		>"$OUT/headers_install.log" 2>&1 ||
		die "make headers_install failed (see $OUT/headers_install.log)"
}

build_install() {
	local inst=$OUT/install
	rm -rf "$inst"
	log "building + installing KVM selftests into $inst (log: $OUT/selftests.log)"
	make -C "$KSFT" O="$OUT" TARGETS=kvm FORCE_TARGETS=1 ARCH=x86 \
		"${CC_ARGS[@]}" USERLDFLAGS=-static \
		TMPOUT="$OUT/kselftest/.tmp_\$\$\$\$" \
		-j"$(njobs)" install INSTALL_PATH="$inst" \
		>"$OUT/selftests.log" 2>&1 || {
		tail -n 30 "$OUT/selftests.log" >&2
		die "KVM selftests build/install failed (see $OUT/selftests.log)"
	}
	[[ -x $inst/run_kselftest.sh && -s $inst/kselftest-list.txt ]] ||
		die "install incomplete: no run_kselftest.sh/kselftest-list.txt in $inst"
}

check_static() {
	local f bad=""
	for f in "$OUT"/install/kvm/*; do
		[[ -f $f && -x $f ]] || continue
		head -c 4 "$f" | grep -q ELF || continue
		file -b "$f" 2>/dev/null | grep -q 'statically linked' || bad+=" ${f##*/}"
	done
	[[ -z $bad ]] || die "not statically linked:$bad"
}

# inputs_key: the hash of everything the install is made from.
inputs_key() {
	{
		tree_state "$SRC" &&
			(cd "$REPO_DIR" && sha256sum probes/* scripts/build/build-selftests.sh \
				scripts/build/build-probes.sh) &&
			{ dpkg-query -W libc6-dev uuid-dev 2>/dev/null || :; } &&
			toolchain_id
	} | inputs_hash
}

# install_complete: what the stamp promises is there: the runner, and
# every probe listed and installed.
install_complete() {
	local inst=$OUT/install f name
	[[ -x $inst/run_kselftest.sh && -s $inst/kselftest-list.txt ]] || return 1
	for f in "$REPO_DIR"/probes/*.c; do
		name=$(basename "$f" .c)
		grep -qxF "kvm:$name" "$inst/kselftest-list.txt" && [[ -x $inst/kvm/$name ]] ||
			return 1
	done
}

main() {
	local t0=$SECONDS key
	parse_args "$@"
	key=$(inputs_key) || die "cannot hash the inputs of $OUT"
	if [[ -f $STAMP && $(cat "$STAMP") == "$key" ]] && install_complete; then
		log "KVM selftests and probes built before from the same inputs: $OUT/install"
		echo "$OUT/install"
		return
	fi
	rm -f "$STAMP"
	check_tools
	setup_cc
	install_headers
	build_install
	if command -v file >/dev/null 2>&1; then check_static; fi
	"$REPO_DIR/scripts/build/build-probes.sh" "$SRC" "$OUT" >&2
	install_complete || die "the install in $OUT/install lacks a probe of $REPO_DIR/probes"
	echo "$key" >"$STAMP.tmp" && mv "$STAMP.tmp" "$STAMP"
	log "$(wc -l <"$OUT/install/kselftest-list.txt") tests installed in $((SECONDS - t0)) s"
	echo "$OUT/install"
}

main "$@"
