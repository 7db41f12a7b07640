#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# run-guest.sh --out DIR --machine NAME --kernel BZIMAGE
#              (--selftests INSTALL_DIR --tests "COLL:TEST ..." | --extra DIR | --initrd CPIO)
#              [--append "params"] [--timing MODEL|--ips N] [--memory MB]
#              [--timeout S] [--variant NAME]
#
# One boot, kept whole in DIR (created; its previous boot's files replaced):
#   serial.log     the guest's serial console (scripts/read/guestlog.py reads it)
#   emulator.log   the emulator's own log (Bochs) or standard error (QEMU)
#   bochsrc, qemu.cmd  the emulator's configuration / command line
#   cmdline        the guest kernel's command line
#   meta           what ran, KEY=VALUE: variant, machine, emulator, timing,
#                  ips, kernel, initrd, append, tests, memory, timeout
#   rerun          a script that boots exactly this again (into DIR, or
#                  into the directory given as its argument)
#   status         this script's exit status, written last
# --machine names a machine of config/machines: its kernel arguments go on
# the guest's command line before --append, and its timing model is the
# default of --timing.  The initramfs (mkinitramfs.sh: --selftests and
# --tests, or --extra DIR for KVM-unit-tests' KUT mode) is kept by the
# hash of its contents in $CACHE_DIR/initrd, so that rerun boots the same
# bytes; --initrd takes one made before.  --variant names the kernel in
# meta (e.g. base, patched).
# Bochs machines: mkdisk.sh then boot-bochs.sh; QEMU ones: boot-qemu.sh.
# Exit status: the boot script's (0: PLE-DONE seen; 1 setup error; the
# others are scripts/guest/watchdog.sh's EXIT_*).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
# The files of a boot directory this script writes (run.out is the runner's).
BOOT_FILES="serial.log emulator.log bochsrc qemu.cmd cmdline meta rerun status"

usage() {
	echo "usage: ${0##*/} [-h|--help] --out DIR --machine NAME --kernel BZIMAGE"
	echo "       (--selftests INSTALL_DIR --tests \"COLL:TEST ...\" | --extra DIR | --initrd CPIO)"
	echo "       [--append \"kernel params\"] [--timing MODEL|--ips N] [--memory MB] [--timeout S] [--variant NAME]"
	echo "  machines (config/machines): $(machine_names)"
}

parse_args() {
	OUT="" KERNEL="" KSFT="" TESTS="" APPEND="" TIMEOUT=600 MACHINE=""
	TIMING="" EXTRA="" MEMORY="" INITRD="" VARIANT=""
	parse_opts 'out=OUT kernel=KERNEL selftests=KSFT tests=TESTS append=APPEND
		timeout=TIMEOUT machine=MACHINE timing=TIMING ips=TIMING extra=EXTRA
		memory=MEMORY initrd=INITRD variant=VARIANT' '' "$@"
	no_args
	[[ -n $MACHINE ]] || bad_usage "--machine is required: one of $(machine_names) (config/machines)"
	[[ -n $KERNEL && -n $OUT ]] || bad_usage "--kernel and --out are required"
	[[ -f $KERNEL ]] || die "kernel image '$KERNEL' not found"
	[[ -n $INITRD || -n $EXTRA || (-n $KSFT && -n $TESTS) ]] ||
		bad_usage "--selftests and --tests are required (or --extra, or --initrd)"
	[[ -z $INITRD || -f $INITRD ]] || die "initramfs '$INITRD' not found"
	machine_check "$MACHINE"
	EMU=$(machine_field "$MACHINE" emulator)
	MACHINE_ARGS=$(machine_field "$MACHINE" args)
	[[ $MACHINE_ARGS != *clearcpuid=* || $APPEND != *clearcpuid=* ]] ||
		die "clearcpuid= is machine $MACHINE's ($MACHINE_ARGS, config/machines): the kernel reads one"
	if [[ $EMU == qemu-* ]]; then
		[[ -z $TIMING ]] || die "machine $MACHINE runs on QEMU: --timing is for Bochs machines"
	else
		[[ -n $TIMING ]] || TIMING=$(machine_field "$MACHINE" timing)
		timing_ips "$TIMING" >/dev/null
	fi
	KERNEL=$(realpath "$KERNEL")
	mkdir -p "$OUT" || die "cannot create the boot directory '$OUT'"
	OUT=$(cd "$OUT" && pwd)
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	local rc=$?
	[[ -z ${WORK:-} ]] || rm -rf "$WORK"
	[[ -z ${READY:-} ]] || echo "$rc" >"$OUT/status"
}

# keep_initrd: the initramfs of this boot, made unless given, kept by the
# hash of its contents (a whole file or none: written aside, then moved).
keep_initrd() {
	local key dir=$CACHE_DIR/initrd
	[[ -z $INITRD ]] || { INITRD=$(realpath "$INITRD"); return 0; }
	"$HERE/mkinitramfs.sh" ${KSFT:+--selftests "$KSFT"} ${TESTS:+--tests "$TESTS"} \
		${EXTRA:+--extra "$EXTRA"} "$WORK/initrd.cpio"
	key=$(inputs_hash <"$WORK/initrd.cpio")
	INITRD=$dir/$key.cpio
	[[ -f $INITRD ]] && return 0
	mkdir -p "$dir"
	mv "$WORK/initrd.cpio" "$INITRD.tmp.$$" && mv "$INITRD.tmp.$$" "$INITRD"
}

# clear_out: no file of an earlier boot in OUT, before anything can fail
# (a status next to an old serial.log would be judged as this boot's).
clear_out() {
	local f
	for f in $BOOT_FILES; do rm -f "${OUT:?}/$f"; done
}

# describe: meta, cmdline and rerun, before the boot.
describe() {
	{
		echo "variant=$VARIANT"
		echo "machine=$MACHINE"
		echo "emulator=$EMU"
		echo "timing=$TIMING"
		echo "ips=$([[ -z $TIMING ]] || timing_ips "$TIMING")"
		echo "kernel=$KERNEL"
		echo "initrd=$INITRD"
		echo "append=$APPEND"
		echo "tests=$TESTS"
		echo "memory=$MEMORY"
		echo "timeout=$TIMEOUT"
	} >"$OUT/meta"
	kernel_cmdline "$MACHINE_ARGS${APPEND:+ $APPEND}" >"$OUT/cmdline"
	{
		echo '#!/bin/bash'
		echo "# Boots again what $OUT holds: into that directory, or into DIR."
		echo '# usage: rerun [DIR]'
		printf 'exec %q' "$HERE/run-guest.sh"
		printf ' %q' --out "$OUT" --machine "$MACHINE" --kernel "$KERNEL" --initrd "$INITRD" \
			--append "$APPEND" --timeout "$TIMEOUT" ${TIMING:+--timing "$TIMING"} \
			${MEMORY:+--memory "$MEMORY"} ${VARIANT:+--variant "$VARIANT"} \
			${TESTS:+--tests "$TESTS"}
		# shellcheck disable=SC2016 # for the rerun script to expand
		echo ' ${1:+--out "$1"}'
	} >"$OUT/rerun"
	chmod +x "$OUT/rerun"
}

# boot_bochs: the initramfs on a disk image (mkdisk.sh), booted by boot-bochs.sh.
boot_bochs() {
	"$HERE/mkdisk.sh" --kernel "$KERNEL" --initrd "$INITRD" \
		--append "$MACHINE_ARGS${APPEND:+ $APPEND}" "$WORK/disk.img"
	"$HERE/boot-bochs.sh" --disk "$WORK/disk.img" --out "$OUT" --timeout "$TIMEOUT" \
		--machine "$MACHINE" --timing "$TIMING" ${MEMORY:+--memory "$MEMORY"}
}

# boot_qemu: kernel and initramfs straight to boot-qemu.sh (no disk).
boot_qemu() {
	"$HERE/boot-qemu.sh" --machine "$MACHINE" --kernel "$KERNEL" --initrd "$INITRD" \
		--append "$APPEND" --out "$OUT" --timeout "$TIMEOUT" ${MEMORY:+--memory "$MEMORY"}
}

main() {
	parse_args "$@"
	clear_out
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/ple-guest.XXXXXX")
	trap cleanup EXIT
	keep_initrd
	describe
	READY=1
	case "$EMU" in
	qemu-*) boot_qemu ;;
	*) boot_bochs ;;
	esac
}

main "$@"
