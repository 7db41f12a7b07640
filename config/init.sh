#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the Bochs test guest (busybox sh), installed by
# scripts/guest/mkinitramfs.sh.  Markers on the serial console, read by
# scripts/guest/watchdog.sh (PLE-DONE ends the boot) and
# scripts/read/guestlog.py:
#   PLE-CMDLINE: <kernel command line>
#   PLE-PARAMS: <module>.<param>=<value>   (one line per KVM module parameter
#                                           print_params shows)
#   ... run_kselftest.sh KTAP output ...
#   PLE-WARN: ... and the kernel's log at warning and worse, if a WARN fired
#   PLE-DONE rc=<run_kselftest.sh exit status>
#
# The tests to run come from a file in the initramfs, /etc/ple/tests (one
# COLLECTION:TEST per line, written by mkinitramfs.sh), not from the
# kernel command line: the command line stays for KVM module parameters.
# Optional kernel parameters: ple.timeout=N overrides the per-test timeout
# of the collections' "settings" files (run_kselftest.sh -o N);
# ple.repeat=N runs the tests N times (stress runs), rc is the worst;
# ple.taint=N adds N to the kernel's taint before the tests (ci/60's
# stand-in for a WARN: bit 9, W).
#
# KUT mode, when /etc/ple/kut exists (scripts/lib/guests.sh kut_stage): instead of
# the selftests, KVM-unit-tests under QEMU with KVM, one line per test
# NAME|TIMEOUT|SMP|FILE|APPEND|QEMU-PARAMETERS, run the way their x86/run
# does, reported in run_kselftest.sh's format as collection "kut" (the
# test's serial output behind "# ", then "ok N selftests: kut: NAME",
# "... # SKIP", or "not ok ... # exit=N: <first FAIL line>"); rc is 1 if
# any test failed.

PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
KSFT_DIR=/kselftest
TESTS_FILE=/etc/ple/tests

mount_fs() {
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev 2>/dev/null
	# devtmpfs has no /dev/fd, /dev/stdout...: run_kselftest.sh writes its
	# log to /dev/stdout, which would otherwise become a regular file.
	ln -sfn /proc/self/fd /dev/fd
	ln -sf /proc/self/fd/0 /dev/stdin
	ln -sf /proc/self/fd/1 /dev/stdout
	ln -sf /proc/self/fd/2 /dev/stderr
	mount -t debugfs debugfs /sys/kernel/debug
	mount -t tmpfs tmpfs /tmp
}

# print_params: the command line, and the KVM params of the series' code
# (the PAUSE filter's and PLE's, nested, npt, halt polling) as KVM set them
# up.  Not every param: at 115200 baud each line costs the emulated host
# ~87 us a byte of serial output, ~0.4 s of host CPU a KB at 5 GHz Zen
# timing (all 73 of them: 1.2 s a boot).
print_params() {
	read -r cmdline </proc/cmdline
	echo "PLE-CMDLINE: $cmdline"
	# read, not $(cat): a fork per parameter, ~1 s a boot under Bochs.
	for mod in kvm kvm_amd kvm_intel; do
		for p in /sys/module/"$mod"/parameters/*; do
			case "${p##*/}" in
			pause_filter_* | ple_* | nested | npt | halt_poll_ns) ;;
			*) continue ;;
			esac
			[ -r "$p" ] || continue
			v=""
			read -r v <"$p" || :
			echo "PLE-PARAMS: $mod.${p##*/}=$v"
		done
	done
}

# cmdline_value NAME: value of NAME=... on the kernel command line.
cmdline_value() {
	read -r cmdline </proc/cmdline
	for arg in $cmdline; do
		case "$arg" in
		"$1"=*) echo "${arg#*=}" ;;
		esac
	done
}

run_tests() {
	set --
	while read -r t; do
		[ -n "$t" ] && set -- "$@" -t "$t"
	done <"$TESTS_FILE"
	timeout=$(cmdline_value ple.timeout)
	[ -n "$timeout" ] && set -- "$@" -o "$timeout"
	repeat=$(cmdline_value ple.repeat)
	worst=0
	i=0
	while [ "$i" -lt "${repeat:-1}" ]; do
		"$KSFT_DIR"/run_kselftest.sh "$@" || worst=$?
		i=$((i + 1))
	done
	return "$worst"
}

KUT_FILE=/etc/ple/kut

# kut_verdict STATUS SECONDS TIMEOUT OUTPUT: the result directive of one
# KVM-unit-test from QEMU's exit status (isa-debug-exit: (code << 1) | 1,
# so 1 = pass, 3 = fail, 77 = skip; see their scripts/vmm.bash): "" for
# ok, "SKIP ..." or "not ok" + reason.
kut_verdict() {
	case "$1" in
	1) echo ok ;;
	77) echo "SKIP $(grep -m1 '^SKIP' "$4" || grep -v '^SUMMARY' "$4" | tail -n1)" ;;
	*)
		if [ "$2" -ge "$3" ]; then
			echo "fail TIMEOUT $3 seconds"
		else
			echo "fail exit=$1: $(grep -m1 '^FAIL' "$4" || grep -v '^SUMMARY' "$4" | tail -n1)"
		fi ;;
	esac
}

run_kut() {
	n=0 worst=0 out=/tmp/kut.out
	# The guest may give QEMU more memory than it has (svm: -m 4g); a
	# test touches little of it.
	echo 1 >/proc/sys/vm/overcommit_memory
	echo "TAP version 13"
	echo "1..$(grep -c . "$KUT_FILE")"
	while IFS='|' read -r name tmo smp file app params; do
		[ -n "$name" ] || continue
		n=$((n + 1))
		echo "# selftests: kut: $name"
		start=$(date +%s)
		# shellcheck disable=SC2086 # $params: one QEMU argument a word
		timeout -s KILL "$tmo" /usr/bin/qemu-system-x86_64 --no-reboot \
			-nodefaults -device pc-testdev \
			-device isa-debug-exit,iobase=0xf4,iosize=0x4 -display none \
			-serial stdio -device pci-testdev -machine accel=kvm \
			-global kvm-pit.lost_tick_policy=discard \
			-kernel "/kut/$file" -smp "$smp" ${app:+-append "$app"} \
			$params </dev/null >"$out" 2>&1
		st=$?
		secs=$(($(date +%s) - start))
		# (awk ends a cut last line: QEMU may stop mid-line)
		awk '{ print "# " $0 }' "$out"
		echo "# kut: $name: QEMU exit status $st after $secs s"
		v=$(kut_verdict "$st" "$secs" "$tmo" "$out")
		case "$v" in
		ok) echo "ok $n selftests: kut: $name" ;;
		SKIP*) echo "ok $n selftests: kut: $name # $v" ;;
		*) echo "not ok $n selftests: kut: $name # ${v#fail }"; worst=1 ;;
		esac
	done <"$KUT_FILE"
	return "$worst"
}

# The serial port's transmit count, from the 8250 driver.
serial_tx() {
	sed -n 's/^0:.* tx:\([0-9]*\).*/\1/p' /proc/tty/driver/serial 2>/dev/null
}

# wait_quiet: until the serial transmit count stops moving for 2 s.
wait_quiet() {
	last=-1 same=0
	while [ "$same" -lt 2 ]; do
		sleep 1
		now=$(serial_tx)
		[ -n "$now" ] || { sleep 2; return; }
		if [ "$now" = "$last" ]; then same=$((same + 1)); else same=0; fi
		last=$now
	done
}

# Wait until the 8250 has sent everything: output still queued at power-off
# is lost, and the emulated UART is slow (a full test log takes seconds).
# Under Bochs the UART sometimes stops sending with output queued (a
# transmit interrupt goes missing; seen in ~1 boot of 20): a console message
# (printk rewrites the interrupt enable register) restarts it.  So restart
# and wait for quiet, three times.  scripts/guest/boot-bochs.sh does not wait for the
# power-off: once it has read PLE-DONE and a drain message (printed after
# PLE-DONE, so everything before both has been sent) it stops Bochs.
drain_serial() {
	for i in 1 2 3; do
		echo "<3>ple: serial drain $i" >/dev/kmsg
		wait_quiet
	done
}

# report_warn: a WARN() prints at KERN_WARNING, which the console does not
# show under "quiet" (scripts/lib/common.sh kernel_cmdline), and taints
# the kernel W (bit 9 of /proc/sys/kernel/tainted).  So, if the kernel is
# tainted W, print PLE-WARN and the kernel's log at warning and worse
# (kernel facility, levels 0-4 of dmesg -r), the WARN's report among it;
# nothing otherwise.
report_warn() {
	# cat, not read: busybox's read takes a byte a call, and a sysctl
	# file reads as empty past offset 0.
	t=$(cat /proc/sys/kernel/tainted)
	[ $((t & 512)) -ne 0 ] || return 0
	echo "PLE-WARN: the kernel is tainted $t (W: a WARN fired); its log at warning and worse:"
	dmesg -r | sed -n 's/^<[0-4]>//p'
}

finish() {
	report_warn
	echo "PLE-DONE rc=$1"
	sync
	drain_serial
	poweroff -f
}

main() {
	mount_fs
	print_params
	taint=$(cmdline_value ple.taint)
	[ -z "$taint" ] || echo "$taint" >/proc/sys/kernel/tainted
	if [ -r "$KUT_FILE" ]; then
		run_kut
		rc=$?
	elif [ -r "$TESTS_FILE" ] && [ -x "$KSFT_DIR/run_kselftest.sh" ]; then
		run_tests
		rc=$?
	else
		echo "init: $TESTS_FILE or $KSFT_DIR/run_kselftest.sh missing" >&2
		rc=127
	fi
	finish "$rc"
}

main
# poweroff -f failed: fall through, the kernel panics when init exits.
