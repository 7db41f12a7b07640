#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# boot-qemu.sh --machine NAME --kernel BZIMAGE --initrd CPIO --out DIR
#              [--append "params"] [--timeout SECONDS] [--memory MB]
# boot-qemu.sh --machine NAME --check
#
# Boots BZIMAGE with CPIO on machine NAME of config/machines whose
# emulator is QEMU (Debian's qemu-system-x86_64): qemu-kvm on this host's
# /dev/kvm with -overcommit cpu-pm=on (nested SVM gives the guest's KVM
# the CPU's own pause filter; cpu-pm=on keeps an older host from adding
# its own PAUSE intercept to the guest's L2s),
# qemu-tcg under TCG (no pause filter).  -cpu is the machine's cpu column,
# -smp and -m its vcpus and memory; the kernel command line is
# kernel_cmdline (scripts/lib/common.sh) with the machine's args and --append.
# Headless (-display none), no reboot (panic=-1 then ends QEMU), the
# serial port to DIR/serial.log, QEMU's standard error to DIR/emulator.log,
# its command line to DIR/qemu.cmd (run-guest.sh makes DIR).  The watchdog (scripts/guest/watchdog.sh, as
# boot-bochs.sh's) kills QEMU on timeout, a panic, a BUG or an Oops.
#
# --check only says whether machine NAME can run here (exit 0, or 5 with
# one line: the package to install, or what the host lacks: /dev/kvm, an
# AMD CPU, svm, pausefilter, pfthreshold), booting nothing.
#
# Exit status (boot-bochs.sh's): 0 PLE-DONE seen, 1 usage or setup error,
# 2 QEMU exited without PLE-DONE, 3 timeout, 4 panic/BUG/Oops,
# 5 QEMU missing or the machine unavailable on this host.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=scripts/guest/watchdog.sh
source "$(dirname "$0")/watchdog.sh"
EMU_NAME=QEMU
QEMU=qemu-system-x86_64
# What QEMU opens to boot -kernel on the pc machine: SeaBIOS and the
# linuxboot option ROM.
QEMU_FIRMWARE="/usr/share/seabios/bios-256k.bin:seabios
/usr/share/qemu/linuxboot_dma.bin:qemu-system-data"

usage() {
	echo "usage: ${0##*/} [-h|--help] --machine NAME --kernel BZIMAGE --initrd CPIO --out DIR"
	echo "       [--append \"params\"] [--timeout SECONDS] [--memory MB]"
	echo "       ${0##*/} --machine NAME --check   (can it run here?)"
	echo "  exit: 0 PLE-DONE seen, 2 no marker, 3 timeout, 4 panic/BUG/Oops, 5 unavailable"
}

parse_args() {
	KERNEL="" INITRD="" OUT="" APPEND="" TIMEOUT=600 MACHINE="" MEMORY="" CHECK=""
	parse_opts 'kernel=KERNEL initrd=INITRD out=OUT append=APPEND timeout=TIMEOUT
		machine=MACHINE memory=MEMORY' 'check=CHECK' "$@"
	no_args
	[[ -n $MACHINE ]] || bad_usage "--machine is required: one of $(machine_names) (config/machines)"
	machine_check "$MACHINE"
	EMU=$(machine_field "$MACHINE" emulator)
	[[ $EMU == qemu-* ]] || die "machine $MACHINE runs on $EMU: scripts/guest/boot-bochs.sh boots it"
	[[ -n $MEMORY ]] || MEMORY=$(machine_field "$MACHINE" memory)
	[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || bad_usage "--timeout must be a positive number of seconds"
	[[ $MEMORY =~ ^[1-9][0-9]*$ ]] || bad_usage "--memory must be a number of MB"
	[[ -n $CHECK ]] || check_files
}

check_files() {
	[[ -n $KERNEL && -n $INITRD && -n $OUT ]] || bad_usage "--kernel, --initrd and --out are required"
	[[ -f $KERNEL ]] || die "kernel image '$KERNEL' not found"
	[[ -f $INITRD ]] || die "initramfs '$INITRD' not found"
	[[ -d $OUT ]] || die "boot directory '$OUT' does not exist"
	OUT=$(cd "$OUT" && pwd)
	LOG=$OUT/serial.log EMU_STDERR=$OUT/emulator.log
	[[ $APPEND != *$'\n'* ]] || die "--append must be a single line"
}

# cpu_flag FLAG: /proc/cpuinfo's first flags line has FLAG.
cpu_flag() { grep -m1 '^flags' /proc/cpuinfo | grep -qw -- "$1"; }

# host_lacks: prints what this host lacks for a qemu-kvm machine (one
# line), or nothing.
host_lacks() {
	local f vendor
	if [[ ! -e /dev/kvm ]]; then
		echo "no /dev/kvm on this host (KVM not available: no hardware virtualization, or kvm_amd not loaded)"
		return
	fi
	[[ -r /dev/kvm && -w /dev/kvm ]] || { echo "/dev/kvm is not readable and writable by $(id -un) (group kvm?)"; return; }
	vendor=$(awk -F': ' '/^vendor_id/ { print $2; exit }' /proc/cpuinfo)
	[[ $vendor == AuthenticAMD ]] || {
		echo "it needs an AMD CPU, this host's is $vendor ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo))"
		return; }
	for f in svm pausefilter $(needs_pfthreshold && echo pfthreshold); do
		cpu_flag "$f" || { echo "this host's CPU has no '$f' in /proc/cpuinfo"; return; }
	done
}

# needs_pfthreshold: the machine is threshold mode (its -cpu does not turn
# pfthreshold off).
needs_pfthreshold() { [[ $(machine_field "$MACHINE" cpu) != *pfthreshold=off* ]]; }

# check_qemu: QEMU, its firmware and, for qemu-kvm, the host: or exit 5.
check_qemu() {
	local fw why
	command -v "$QEMU" >/dev/null 2>&1 ||
		fail $EXIT_NO_EMULATOR "'$QEMU' not found: install the Debian package 'qemu-system-x86'"
	for fw in $QEMU_FIRMWARE; do
		[[ -f ${fw%%:*} ]] || fail $EXIT_NO_EMULATOR "${fw%%:*} missing: install '${fw##*:}'"
	done
	if [[ $EMU == qemu-kvm ]]; then
		why=$(host_lacks)
		[[ -z $why ]] || fail $EXIT_NO_EMULATOR "machine $MACHINE unavailable: $why"
	fi
	[[ -z $CHECK ]] || exit 0
}

# qemu_cmd: the QEMU command line, in the array CMD.
qemu_cmd() {
	local accel=(-accel tcg) args
	[[ $EMU == qemu-tcg ]] || accel=(-accel kvm -overcommit cpu-pm=on)
	args=$(machine_field "$MACHINE" args)
	args=$args${APPEND:+ $APPEND}
	CMD=("$QEMU" "${accel[@]}" -cpu "$(machine_field "$MACHINE" cpu)"
		-smp "$(machine_field "$MACHINE" vcpus)" -m "$MEMORY"
		-display none -no-reboot -nodefaults -serial "file:$LOG"
		-kernel "$KERNEL" -initrd "$INITRD" -append "$(kernel_cmdline "${args# }")")
}

start_qemu() {
	rm -f "$LOG"
	: >"$LOG"
	printf '%q ' "${CMD[@]}" | sed 's/ $//' >"$OUT/qemu.cmd"
	setsid "${CMD[@]}" </dev/null >/dev/null 2>"$EMU_STDERR" &
	EMU_PID=$!
}

# stop_emulator: SIGTERM, then SIGKILL to QEMU's process group.
stop_emulator() { end_emulator TERM "$EMU_PID"; }

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	[[ -z ${EMU_PID:-} ]] || stop_emulator
	[[ -z ${WORK:-} ]] || rm -rf "$WORK"
}

main() {
	parse_args "$@"
	check_qemu
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/ple-qemu.XXXXXX")
	trap cleanup EXIT
	qemu_cmd
	start_qemu
	log "QEMU pid $EMU_PID, machine $MACHINE ($EMU, -cpu $(machine_field "$MACHINE" cpu)), timeout ${TIMEOUT}s, serial log $LOG"
	watch_guest
}

main "$@"
