#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# boot-bochs.sh --machine NAME --disk IMG --out DIR [--timeout SECONDS]
#         [--timing MODEL|--ips N] [--memory MB]
# boot-bochs.sh --machine NAME --check
#
# --check only says whether machine NAME's emulator and BIOS are installed
# (exit 0, or 5 with the one-line error naming the package), booting
# nothing: the checks skip with that line (scripts/lib/guests.sh emulator_missing).
# Boots IMG on machine NAME of config/machines (its emulator, Debian 12's
# Bochs 2.7 as shipped, and its CPU model), headless, with com1 written to
# DIR/serial.log, Bochs' own log to DIR/emulator.log and its configuration
# to DIR/bochsrc (run-guest.sh makes DIR).  A watchdog kills Bochs on
# timeout, or when the serial log shows a kernel panic, a BUG or an Oops.
#
# Timing: --timing names a model of config/timing-models (default: the
# machine's, config/machines), --ips gives Bochs' ips directly.
#
# Display: Debian's Bochs has no usable "nogui"; the `term` display (package
# bochs-term) runs on a private pty under script(1) and opens no socket.
# Without it, `rfb` is used inside a private network namespace (unshare),
# so its VNC listener cannot be reached; plain rfb is the last resort.
#
# Exit status:
#   0  the log has the "PLE-DONE rc=N" marker (the tests may still have
#      failed: see N and scripts/report.sh); Bochs is stopped as soon as
#      the log is complete, or exits by itself on the guest's poweroff -f
#   1  usage or setup error
#   2  Bochs exited without the PLE-DONE marker
#   3  timeout: the guest hung (Bochs killed)
#   4  kernel panic, BUG or Oops in the serial log (Bochs killed)
#   5  Bochs, its BIOS or its display plugin is not installed
# Environment: PLE_BOCHS_CPU0_ERRORS=report keeps Bochs' CPU error messages.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"

# shellcheck source=scripts/guest/watchdog.sh
source "$(dirname "$0")/watchdog.sh"
EMU_NAME=Bochs
BIOS=/usr/share/bochs/BIOS-bochs-latest
VGABIOS=/usr/share/bochs/VGABIOS-lgpl-latest
# Bochs' CPU0 "error" messages (RDMSR 0x1d9, every SVM I/O exit: ~300,000
# lines, 15 MB per run) are ignored unless PLE_BOCHS_CPU0_ERRORS=report.
CPU0_ERRORS=${PLE_BOCHS_CPU0_ERRORS:-ignore}

usage() {
	echo "usage: ${0##*/} [-h|--help] --machine NAME --disk IMG --out DIR [--timeout SECONDS]"
	echo "       [--timing MODEL|--ips N]   (machines: config/machines; models: config/timing-models)"
	echo "       ${0##*/} --machine NAME --check   (is its emulator installed?)"
	echo "       [--memory MB]              (guest RAM, default: the machine's)"
	echo "  exit: 0 PLE-DONE seen, 2 no marker, 3 timeout, 4 panic/BUG/Oops, 5 no bochs"
}

parse_args() {
	DISK="" OUT="" TIMEOUT=600 MACHINE="" TIMING="" MEMORY="" CHECK=""
	parse_opts 'disk=DISK out=OUT timeout=TIMEOUT machine=MACHINE timing=TIMING
		ips=TIMING memory=MEMORY' 'check=CHECK' "$@"
	no_args
	[[ -n $CHECK || (-n $DISK && -n $OUT) ]] || bad_usage "--disk and --out are required"
	[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || bad_usage "--timeout must be a positive number of seconds"
	[[ -n $MACHINE ]] || bad_usage "--machine is required: one of $(machine_names) (config/machines)"
	machine_check "$MACHINE"
	[[ $(machine_field "$MACHINE" emulator) == bochs-* ]] ||
		die "machine $MACHINE runs on QEMU: scripts/guest/boot-qemu.sh boots it"
	[[ -n $MEMORY ]] || MEMORY=$(machine_field "$MACHINE" memory)
	[[ $MEMORY =~ ^[1-9][0-9]*$ ]] || bad_usage "--memory must be a number of MB"
	CPU_MODEL=$(machine_field "$MACHINE" cpu)
	[[ -n $TIMING ]] || TIMING=$(machine_field "$MACHINE" timing)
	IPS=$(timing_ips "$TIMING")
	[[ -z $CHECK ]] || return 0
	[[ -f $DISK ]] || die "disk image '$DISK' not found"
	[[ -d $OUT ]] || die "boot directory '$OUT' does not exist"
	DISK=$(cd "$(dirname "$DISK")" && pwd)/$(basename "$DISK")
	OUT=$(cd "$OUT" && pwd)
	LOG=$OUT/serial.log EMU_LOG=$OUT/emulator.log
}

check_bochs() {
	BOCHS=bochs
	command -v "$BOCHS" >/dev/null 2>&1 ||
		fail $EXIT_NO_EMULATOR "'$BOCHS' not found: install the Debian package 'bochs'"
	need_cmd setsid util-linux
	need_cmd pgrep procps
	[[ -f $BIOS ]] || fail $EXIT_NO_EMULATOR "$BIOS missing: install 'bochsbios'"
	[[ -f $VGABIOS ]] || VGABIOS=/usr/share/vgabios/vgabios.bin
	[[ -f $VGABIOS ]] || fail $EXIT_NO_EMULATOR "no VGA BIOS: install 'vgabios'"
	[[ -z $CHECK ]] || exit 0
	if [[ -e $DISK.lock ]]; then
		die "$DISK is locked by another Bochs ($DISK.lock); remove the file if stale"
	fi
}

# pick_display: sets DISPLAY_LINE and the LAUNCH array (command prefix).
pick_display() {
	if compgen -G '/usr/lib/*/bochs/plugins/libbx_term_gui.so*' >/dev/null &&
		command -v script >/dev/null 2>&1; then
		DISPLAY_LINE="display_library: term"
		LAUNCH=(term)
	else
		DISPLAY_LINE='display_library: rfb, options="timeout=0"'
		if unshare --net true 2>/dev/null; then
			LAUNCH=(unshare --net)
		elif unshare --user --map-root-user --net true 2>/dev/null; then
			LAUNCH=(unshare --user --map-root-user --net)
		else
			log "warning: no bochs-term and no unshare: rfb listens on all interfaces"
			LAUNCH=()
		fi
	fi
}

# write_config: the bochsrc.  "fastboot" skips the BIOS boot-menu delay (3
# emulated seconds, 600 million instructions to emulate at every boot).
write_config() {
	cat >"$OUT/bochsrc" <<-EOF
		romimage: file="$BIOS", options=fastboot
		vgaromimage: file="$VGABIOS"
		cpu: model=$CPU_MODEL, count=$(machine_field "$MACHINE" vcpus), ips=$IPS
		memory: guest=$MEMORY, host=$MEMORY
		clock: sync=none
		boot: disk
		ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
		ata0-master: type=disk, path="$DISK", mode=flat
		com1: enabled=1, mode=file, dev="$LOG"
		$DISPLAY_LINE
		mouse: enabled=0
		panic: action=fatal
		error: action=report, cpu0=$CPU0_ERRORS
		info: action=report
		debug: action=ignore
		log: "$EMU_LOG"
	EOF
	printf 'c\nquit\n' >"$WORK/cmds"
}

start_bochs() {
	local cmd=("$BOCHS" -q -f "$OUT/bochsrc" -rc "$WORK/cmds")
	rm -f "$LOG" "$EMU_LOG"
	: >"$LOG"
	if [[ ${LAUNCH[0]:-} == term ]]; then
		setsid script -qfec "$(printf '%q ' "${cmd[@]}")" /dev/null \
			</dev/null >/dev/null 2>"$WORK/stderr" &
	else
		setsid "${LAUNCH[@]}" "${cmd[@]}" </dev/null >/dev/null 2>"$WORK/stderr" &
	fi
	EMU_PID=$!
}

# stop_bochs: bochs-bin ignores SIGTERM, so SIGKILL it (in the term case it
# is the child of script(1), which then reaps it and exits by itself); the
# whole process group (setsid made it Bochs' own) only as a last resort.
stop_bochs() {
	local kids
	kids=$(pgrep -P "$EMU_PID" || true)
	# shellcheck disable=SC2086 # one pid per word
	end_emulator KILL ${kids:-$EMU_PID}
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	[[ -z ${EMU_PID:-} ]] || stop_bochs
	# A killed Bochs leaves its lock file behind: it is ours.
	[[ -z ${STARTED:-} ]] || rm -f "$DISK.lock"
	[[ -z ${WORK:-} ]] || rm -rf "$WORK"
}

# shellcheck disable=SC2317 # called by watch_guest (watchdog.sh)
stop_emulator() { stop_bochs; }

main() {
	parse_args "$@"
	check_bochs
	pick_display
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/ple-boot.XXXXXX")
	EMU_STDERR=$WORK/stderr
	trap cleanup EXIT
	write_config
	start_bochs
	STARTED=1
	log "Bochs pid $EMU_PID, machine $MACHINE ($CPU_MODEL), $TIMING (ips $IPS) (${DISPLAY_LINE#display_library: }), timeout ${TIMEOUT}s, serial log $LOG"
	watch_guest
}

main "$@"
