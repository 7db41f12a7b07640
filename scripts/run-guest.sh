#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# run-guest.sh --kernel BZIMAGE --selftests INSTALL_DIR --tests "COLL:TEST ..."
#              [--append "params"] --log FILE [--timeout S] [--cpu MODEL]
#              [--clearcpuid FEATURE,...] [--timing MODEL|--ips N]
#
# mkinitramfs.sh + mkdisk.sh + boot.sh, with the initramfs and the disk
# image in a temporary directory removed on exit.  Exits with boot.sh's
# status (0: PLE-DONE seen; 2 no marker, 3 timeout, 4 panic, 5 no bochs).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)

usage() {
	echo "usage: ${0##*/} [-h|--help] --kernel BZIMAGE --selftests INSTALL_DIR --tests \"COLL:TEST ...\""
	echo "       [--append \"kernel params\"] --log FILE [--timeout SECONDS] [--cpu MODEL]"
	echo "       [--clearcpuid FEATURE,...] [--timing MODEL|--ips N]"
}

bad_usage() { usage >&2; die "$*"; }

parse_args() {
	KERNEL="" KSFT="" TESTS="" APPEND="" LOG="" TIMEOUT=600 CPU_MODEL=ryzen
	CLEAR="" TIMING=${PLE_TIMING:-zen-2ghz}
	while [[ $# -gt 0 ]]; do
		case "$1" in
		-h | --help) usage; exit 0 ;;
		--kernel | --selftests | --tests | --append | --log | --timeout | --cpu | \
			--clearcpuid | --timing | --ips)
			[[ $# -ge 2 ]] || bad_usage "$1 needs a value"
			case "$1" in
			--kernel) KERNEL=$2 ;;
			--selftests) KSFT=$2 ;;
			--tests) TESTS=$2 ;;
			--append) APPEND=$2 ;;
			--log) LOG=$2 ;;
			--timeout) TIMEOUT=$2 ;;
			--cpu) CPU_MODEL=$2 ;;
			--clearcpuid) CLEAR=$2 ;;
			--timing | --ips) TIMING=$2 ;;
			esac
			shift 2 ;;
		*) bad_usage "unexpected argument '$1'" ;;
		esac
	done
	[[ -n $KERNEL && -n $KSFT && -n $TESTS && -n $LOG ]] ||
		bad_usage "--kernel, --selftests, --tests and --log are required"
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() { [[ -z ${WORK:-} ]] || rm -rf "$WORK"; }

main() {
	local rc=0
	parse_args "$@"
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/ple-guest.XXXXXX")
	trap cleanup EXIT
	"$HERE/mkinitramfs.sh" --selftests "$KSFT" --tests "$TESTS" "$WORK/initrd.cpio"
	"$HERE/mkdisk.sh" --kernel "$KERNEL" --initrd "$WORK/initrd.cpio" \
		--append "$APPEND" --clearcpuid "$CLEAR" "$WORK/disk.img"
	"$HERE/boot.sh" --disk "$WORK/disk.img" --log "$LOG" --timeout "$TIMEOUT" \
		--cpu "$CPU_MODEL" --timing "$TIMING" || rc=$?
	exit "$rc"
}

main "$@"
