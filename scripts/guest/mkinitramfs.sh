#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# mkinitramfs.sh --selftests INSTALL_DIR --tests "kvm:sync_regs_test ..."
#                [--init FILE] [--extra DIR] OUT.cpio
# mkinitramfs.sh --extra DIR [--init FILE] OUT.cpio
#
# Builds an uncompressed newc initramfs without root (GNU cpio -R 0:0 on a
# staging directory; device nodes come from devtmpfs, /dev/console from the
# kernel's built-in default initramfs) with:
#   /bin/busybox (busybox-static) and its applet symlinks,
#   /usr/bin/timeout: a shim, busybox's timeout lacks run_kselftest.sh's
#                     --foreground,
#   /kselftest/{run_kselftest.sh,kselftest/,kselftest-list.txt} from
#     INSTALL_DIR (the list restricted to the selected tests),
#   /kselftest/COLLECTION/{TEST (stripped),settings,config} for the
#     selected tests only,
#   /etc/ple/tests: the selected tests, one per line (read by /init),
#   /init: config/init.sh (or --init FILE),
#   with --extra DIR: DIR's tree copied over the root (e.g. QEMU and the
#     KVM-unit-tests of scripts/lib/guests.sh kut_stage); then --selftests and
#     --tests are optional.
# Test names are those of INSTALL_DIR/kselftest-list.txt (COLLECTION:TEST,
# e.g. kvm:sync_regs_test); "kvm:x86/sync_regs_test" is accepted and mapped
# to the installed name.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"

BUSYBOX=/bin/busybox

usage() {
	echo "usage: ${0##*/} [-h|--help] --selftests INSTALL_DIR --tests \"COLL:TEST ...\" [--init FILE] [--extra DIR] OUT.cpio"
	echo "       ${0##*/} --extra DIR [--init FILE] OUT.cpio"
}

parse_args() {
	KSFT="" TESTS="" INIT=$REPO_DIR/config/init.sh OUTPUT="" EXTRA=""
	parse_opts 'selftests=KSFT tests=TESTS init=INIT extra=EXTRA' '' "$@"
	[[ ${#ARGS[@]} -le 1 ]] || bad_usage "more than one output file"
	OUTPUT=${ARGS[0]:-}
	[[ -n $OUTPUT ]] || bad_usage "OUT.cpio is required"
	[[ -z $EXTRA || -d $EXTRA ]] || die "--extra '$EXTRA' is not a directory"
	[[ -r $INIT ]] || die "init template '$INIT' not found"
	# --extra alone: no selftests (KUT mode)
	if [[ -n $EXTRA && -z $KSFT && -z $TESTS ]]; then return; fi
	[[ -n $KSFT ]] || bad_usage "--selftests INSTALL_DIR is required"
	[[ -n $TESTS ]] || bad_usage "--tests is required"
	[[ -x $KSFT/run_kselftest.sh && -r $KSFT/kselftest-list.txt && -d $KSFT/kselftest ]] ||
		die "'$KSFT' is not a kselftest install dir (run_kselftest.sh," \
			"kselftest-list.txt, kselftest/): build it with $(build_command)"
}

# build_command: the command that builds the KVM selftests and the probes
# into KSFT (scripts/build/build-selftests.sh SRC OUT, KSFT = OUT/install).
build_command() {
	if [[ $(realpath -m "$KSFT") == "$(realpath -m "$SELFTESTS_DIR/install")" ]]; then
		echo "scripts/build/build-selftests.sh $(variant_src patched) $SELFTESTS_DIR (or make demo)"
	else
		echo "scripts/build/build-selftests.sh SRC ${KSFT%/install} (SRC: the kernel tree with the series)"
	fi
}

check_tools() {
	need_cmd cpio cpio
	need_cmd strip binutils
	need_cmd readelf binutils
	[[ -x $BUSYBOX ]] || die "$BUSYBOX not found: install busybox-static"
	if readelf -l "$BUSYBOX" | grep -q INTERP; then
		die "$BUSYBOX is dynamically linked: install busybox-static"
	fi
}

# resolve_test NAME: the kselftest-list.txt entry for NAME.
resolve_test() {
	local t=$1 list=$KSFT/kselftest-list.txt
	[[ $t == *:* ]] || die "test '$t' is not COLLECTION:TEST (e.g. kvm:sync_regs_test)"
	if grep -qxF "$t" "$list"; then
		echo "$t"
	elif grep -qxF "${t%%:*}:${t##*/}" "$list"; then
		echo "${t%%:*}:${t##*/}"
	else
		die "test '$t' is not in $list: build the selftests and the probes with $(build_command)"
	fi
}

stage_busybox() {
	local applet
	mkdir -p "$STAGE"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,root,etc/ple}
	cp "$BUSYBOX" "$STAGE/bin/busybox"
	while read -r applet; do
		[[ -n $applet && $applet != bin/busybox && $applet != usr/bin/timeout ]] || continue
		[[ -e $STAGE/$applet ]] || ln -s /bin/busybox "$STAGE/$applet"
	done < <("$BUSYBOX" --list-full)
	# shellcheck disable=SC2016 # literal script text
	printf '%s\n' '#!/bin/sh' \
		'# busybox timeout has no --foreground: drop it.' \
		'[ "$1" = --foreground ] && shift' \
		'exec /bin/busybox timeout "$@"' >"$STAGE/usr/bin/timeout"
	chmod 755 "$STAGE/usr/bin/timeout"
}

stage_runner() {
	local dst=$STAGE/kselftest
	mkdir -p "$dst"
	cp "$KSFT/run_kselftest.sh" "$dst/"
	cp -r "$KSFT/kselftest" "$dst/"
	: >"$dst/kselftest-list.txt"
}

# stage_test COLL:TEST
stage_test() {
	local coll=${1%%:*} name=${1#*:} f
	local src=$KSFT/$coll dst=$STAGE/kselftest/$coll
	[[ -f $src/$name ]] || die "test binary $src/$name missing"
	mkdir -p "$dst"
	if readelf -h "$src/$name" >/dev/null 2>&1; then
		strip --strip-all -o "$dst/$name" "$src/$name" ||
			die "strip $src/$name failed"
	else
		cp "$src/$name" "$dst/$name"
	fi
	chmod 755 "$dst/$name"
	for f in settings config; do
		[[ ! -f $src/$f ]] || cp "$src/$f" "$dst/$f"
	done
	echo "$1" >>"$STAGE/kselftest/kselftest-list.txt"
	echo "$1" >>"$STAGE/etc/ple/tests"
}

write_cpio() {
	local out_dir
	out_dir=$(dirname "$OUTPUT")
	[[ -d $out_dir ]] || die "output directory '$out_dir' does not exist"
	# Every file dated the epoch, names sorted: the same contents make the
	# same bytes (run-guest.sh keeps initramfses by their hash).
	find "$STAGE" -mindepth 1 -exec touch -h -d @0 {} +
	(cd "$STAGE" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0 --reproducible) >"$OUTPUT.tmp" ||
		die "cpio failed writing $OUTPUT"
	mv -f "$OUTPUT.tmp" "$OUTPUT"
}

cleanup() { [[ -z ${STAGE:-} ]] || rm -rf "$STAGE"; }

main() {
	local t resolved=()
	parse_args "$@"
	check_tools
	for t in $TESTS; do resolved+=("$(resolve_test "$t")"); done
	STAGE=$(mktemp -d "${TMPDIR:-/tmp}/ple-initramfs.XXXXXX")
	trap cleanup EXIT
	stage_busybox
	if [[ -n $KSFT ]]; then
		stage_runner
		: >"$STAGE/etc/ple/tests"
		for t in "${resolved[@]}"; do stage_test "$t"; done
	fi
	[[ -z $EXTRA ]] || cp -a "$EXTRA/." "$STAGE/" || die "copying $EXTRA failed"
	install -m 755 "$INIT" "$STAGE/init"
	write_cpio
	log "$OUTPUT: $(du -k "$OUTPUT" | cut -f1) KiB, tests: ${resolved[*]:-none}${EXTRA:+, extra: $EXTRA}"
}

main "$@"
