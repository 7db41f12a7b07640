#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# run-guest.sh --machine NAME --kernel BZIMAGE --selftests INSTALL_DIR
#              --tests "COLL:TEST ..." [--append "params"] --log FILE
#              [--timeout S] [--timing MODEL|--ips N] [--extra DIR]
#              [--memory MB]
#
# --machine names a machine of config/machines: its kernel arguments go on
# the guest's command line before --append, and its timing model is the
# default of --timing.
# --extra DIR goes to mkinitramfs.sh (a tree copied into the initramfs;
# alone, without --selftests and --tests: KVM-unit-tests' KUT mode), and
# --memory to boot.sh (the guest's RAM, default 512 MB).
# mkinitramfs.sh + mkdisk.sh + boot.sh for a Bochs machine, mkinitramfs.sh +
# boot-qemu.sh for a QEMU one (config/machines' emulator column), with the
# initramfs and the disk image in a temporary directory removed on exit.
# Exits with the boot script's status (0: PLE-DONE seen; 2 no marker,
# 3 timeout, 4 panic, 5 emulator missing or machine unavailable).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)

usage() {
	echo "usage: ${0##*/} [-h|--help] --machine NAME --kernel BZIMAGE --selftests INSTALL_DIR"
	echo "       --tests \"COLL:TEST ...\" [--append \"kernel params\"] --log FILE [--timeout SECONDS]"
	echo "       [--timing MODEL|--ips N] [--extra DIR] [--memory MB]"
	echo "  machines (config/machines): $(machine_names)"
}

bad_usage() { usage >&2; die "$*"; }

parse_args() {
	KERNEL="" KSFT="" TESTS="" APPEND="" LOG="" TIMEOUT=600 MACHINE=""
	TIMING="" EXTRA="" MEMORY=""
	while [[ $# -gt 0 ]]; do
		case "$1" in
		-h | --help) usage; exit 0 ;;
		--kernel | --selftests | --tests | --append | --log | --timeout | --machine | \
			--timing | --ips | --extra | --memory)
			[[ $# -ge 2 ]] || bad_usage "$1 needs a value"
			case "$1" in
			--kernel) KERNEL=$2 ;;
			--selftests) KSFT=$2 ;;
			--tests) TESTS=$2 ;;
			--append) APPEND=$2 ;;
			--log) LOG=$2 ;;
			--timeout) TIMEOUT=$2 ;;
			--machine) MACHINE=$2 ;;
			--timing | --ips) TIMING=$2 ;;
			--extra) EXTRA=$2 ;;
			--memory) MEMORY=$2 ;;
			esac
			shift 2 ;;
		*) bad_usage "unexpected argument '$1'" ;;
		esac
	done
	[[ -n $MACHINE ]] || bad_usage "--machine is required: one of $(machine_names) (config/machines)"
	[[ -n $KERNEL && -n $LOG ]] || bad_usage "--kernel and --log are required"
	[[ -n $EXTRA || (-n $KSFT && -n $TESTS) ]] ||
		bad_usage "--selftests and --tests are required (or --extra)"
	machine_check "$MACHINE"
	MACHINE_ARGS=$(machine_field "$MACHINE" args)
	[[ $MACHINE_ARGS != *clearcpuid=* || $APPEND != *clearcpuid=* ]] ||
		die "clearcpuid= is machine $MACHINE's ($MACHINE_ARGS, config/machines): the kernel reads one"
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() { [[ -z ${WORK:-} ]] || rm -rf "$WORK"; }

# boot_bochs: the initramfs on a disk image (mkdisk.sh), booted by boot.sh.
boot_bochs() {
	"$HERE/mkdisk.sh" --kernel "$KERNEL" --initrd "$WORK/initrd.cpio" \
		--append "$MACHINE_ARGS${APPEND:+ $APPEND}" "$WORK/disk.img"
	"$HERE/boot.sh" --disk "$WORK/disk.img" --log "$LOG" --timeout "$TIMEOUT" \
		--machine "$MACHINE" ${TIMING:+--timing "$TIMING"} ${MEMORY:+--memory "$MEMORY"}
}

# boot_qemu: kernel and initramfs straight to boot-qemu.sh (no disk; no
# timing model: QEMU runs at the host's speed).
boot_qemu() {
	[[ -z $TIMING ]] || die "machine $MACHINE runs on QEMU: --timing is for Bochs machines"
	"$HERE/boot-qemu.sh" --machine "$MACHINE" --kernel "$KERNEL" --initrd "$WORK/initrd.cpio" \
		--append "$APPEND" --log "$LOG" --timeout "$TIMEOUT" ${MEMORY:+--memory "$MEMORY"}
}

main() {
	local rc=0
	parse_args "$@"
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/ple-guest.XXXXXX")
	trap cleanup EXIT
	"$HERE/mkinitramfs.sh" ${KSFT:+--selftests "$KSFT"} ${TESTS:+--tests "$TESTS"} \
		${EXTRA:+--extra "$EXTRA"} "$WORK/initrd.cpio"
	case "$(machine_field "$MACHINE" emulator)" in
	qemu-*) boot_qemu || rc=$? ;;
	*) boot_bochs || rc=$? ;;
	esac
	exit "$rc"
}

main "$@"
