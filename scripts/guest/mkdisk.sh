#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# mkdisk.sh --kernel BZIMAGE --initrd CPIO [--append "params"] OUT.img
#
# Makes a bootable, partitionless FAT16 disk image without root
# (mkfs.fat -C, mcopy, syslinux --install) for Bochs' `boot: disk`.
# The size is a whole number of 16-head/63-sector cylinders (504 KiB each)
# so that Bochs' automatic geometry matches the image exactly.
# Kernel command line: kernel_cmdline of scripts/lib/common.sh (the serial
# console...) followed by the --append parameters.  What a machine needs
# (e.g. clearcpuid=mwaitx) is its own, in config/machines: run-guest.sh
# puts it in --append.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"

CYL_KIB=504 # 16 heads * 63 sectors * 512 bytes

usage() {
	echo "usage: ${0##*/} [-h|--help] --kernel BZIMAGE --initrd CPIO [--append \"params\"] OUT.img"
	echo "  kernel command line: $(kernel_cmdline) + --append"
}

parse_args() {
	KERNEL="" INITRD="" APPEND="" OUTPUT=""
	parse_opts 'kernel=KERNEL initrd=INITRD append=APPEND' '' "$@"
	[[ ${#ARGS[@]} -le 1 ]] || bad_usage "more than one output file"
	OUTPUT=${ARGS[0]:-}
	[[ -n $KERNEL && -n $INITRD && -n $OUTPUT ]] ||
		bad_usage "--kernel, --initrd and OUT.img are required"
	[[ -f $KERNEL ]] || die "kernel image '$KERNEL' not found"
	[[ -f $INITRD ]] || die "initramfs '$INITRD' not found"
	[[ $APPEND != *$'\n'* ]] || die "--append must be a single line"
}

check_tools() {
	need_cmd mkfs.fat dosfstools
	need_cmd mcopy mtools
	need_cmd syslinux syslinux
	[[ -d /usr/lib/syslinux ]] || die "/usr/lib/syslinux missing: install syslinux-common"
}

# image_kib: room for kernel + initrd + 25% + 4 MiB, in whole cylinders,
# at least 32 MiB (FAT16 needs enough clusters).
image_kib() {
	local need cyl
	need=$((($(stat -c %s "$KERNEL") + $(stat -c %s "$INITRD")) / 1024))
	need=$((need + need / 4 + 4096))
	((need >= 32768)) || need=32768
	cyl=$(((need + CYL_KIB - 1) / CYL_KIB))
	echo $((cyl * CYL_KIB))
}

write_cfg() {
	printf '%s\n' \
		"DEFAULT linux" \
		"PROMPT 0" \
		"TIMEOUT 0" \
		"LABEL linux" \
		"  KERNEL bzimage" \
		"  INITRD initrd" \
		"  APPEND $(kernel_cmdline "$APPEND")" >"$1"
}

main() {
	local tmp cfg
	parse_args "$@"
	check_tools
	tmp=$OUTPUT.tmp
	cfg=$(mktemp "${TMPDIR:-/tmp}/ple-syslinux.XXXXXX")
	# shellcheck disable=SC2064 # expand now: locals are gone at exit
	trap "rm -f '$cfg' '$tmp'" EXIT
	write_cfg "$cfg"
	rm -f "$tmp"
	mkfs.fat -C -F 16 -n PLEBOOT -g 16/63 "$tmp" "$(image_kib)" >/dev/null ||
		die "mkfs.fat failed on $tmp"
	export MTOOLS_SKIP_CHECK=1
	mcopy -i "$tmp" "$KERNEL" ::/bzimage || die "mcopy of the kernel failed"
	mcopy -i "$tmp" "$INITRD" ::/initrd || die "mcopy of the initramfs failed"
	mcopy -i "$tmp" "$cfg" ::/syslinux.cfg || die "mcopy of syslinux.cfg failed"
	syslinux --install "$tmp" || die "syslinux --install failed on $tmp"
	mv -f "$tmp" "$OUTPUT"
	log "$OUTPUT: append='$(kernel_cmdline "$APPEND")'"
}

main "$@"
