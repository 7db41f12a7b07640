# SPDX-License-Identifier: GPL-2.0
# The watchdog of a running guest, shared by scripts/guest/boot-bochs.sh
# (Bochs) and scripts/guest/boot-qemu.sh (QEMU); sourced after
# scripts/lib/common.sh.  The caller sets EMU_NAME (for the messages),
# EMU_PID (the emulator, its own process group leader), LOG (the serial
# log), TIMEOUT, EMU_STDERR (the emulator's standard error), WORK (a
# private directory), optionally EMU_LOG (the emulator's own log), and
# defines stop_emulator.  The exit statuses of both boot scripts, and so
# of run-guest.sh and a boot directory's status file (1 is a setup error):
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the scripts that source this
EXIT_NO_MARKER=2 EXIT_TIMEOUT=3 EXIT_PANIC=4 EXIT_NO_EMULATOR=5
# The serial log is read by scripts/read/guestlog.py, the one reader of guest
# logs; the watchdog greps the live log with its patterns (polling being
# too frequent for a parse): a fatal kernel report (panic, BUG, Oops), the
# guest's drain message and its PLE-DONE line (config/init.sh).
GUESTLOG=$REPO_DIR/scripts/read/guestlog.py PYTHON=${GUESTLOG_PYTHON:-python3}

# load_patterns: PANIC_RE, DRAIN_RE and DONE_RE, from the reader.
load_patterns() {
	local patterns
	patterns=$("$PYTHON" "$GUESTLOG" pattern fatal drain "done") || die "$PYTHON $GUESTLOG failed"
	{ read -r PANIC_RE; read -r DRAIN_RE; read -r DONE_RE; } <<<"$patterns"
}
DONE_GRACE=30 # seconds allowed between PLE-DONE and the emulator's exit

# fail CODE MESSAGE: like die, with a distinct exit status.
fail() {
	local code=$1
	shift
	printf '%s: error: %s\n' "${0##*/}" "$*" >&2
	exit "$code"
}

# exited_within SECONDS: whether the emulator process (group leader) is gone.
exited_within() {
	local i
	for ((i = 0; i < $1; i++)); do
		kill -0 "$EMU_PID" 2>/dev/null || return 0
		sleep 1
	done
	! kill -0 "$EMU_PID" 2>/dev/null
}

# end_emulator SIGNAL PID...: if the emulator runs, SIGNAL to the PIDs
# (the emulator, or what stops it); if it is still there 5 s later,
# SIGKILL to its process group.
end_emulator() {
	local sig=$1
	shift
	kill -0 "$EMU_PID" 2>/dev/null || return 0
	kill "-$sig" "$@" 2>/dev/null || true
	# (bash reports a job killed by a signal as it reaps it: "Killed")
	{ exited_within 5; } 2>/dev/null && return 0
	log "$EMU_NAME (pid $EMU_PID) still there: SIGKILL to its process group"
	kill -KILL -- "-$EMU_PID" 2>/dev/null || true
}

# wait_for RE SECONDS: wait (while the emulator runs) for RE in the serial log.
wait_for() {
	local i
	for ((i = 0; i < $2; i++)); do
		grep -qaE -e "$1" "$LOG" && return 0
		kill -0 "$EMU_PID" 2>/dev/null || return 1
		sleep 1
	done
	return 1
}

# guest_done: the log has a whole "PLE-DONE rc=N" line and a drain message,
# which the guest prints after it (see config/init.sh): everything the guest
# wrote before PLE-DONE has been sent, no need to wait for its power-off.
# (The cheap grep first: the parse runs only once the guest drains.)
guest_done() {
	grep -qaE -e "$DRAIN_RE" "$LOG" &&
		"$PYTHON" "$GUESTLOG" status "$LOG" >/dev/null
}

# Polling costs: a process started costs the host ~6-9 ms of CPU on our
# 2-core CI machines, and a boot lasts 10-200 s.  So the watchdog looks at
# the log only when it has grown (log_grew reads the appended bytes
# through a file descriptor of its own), and every 5 s in any case, should
# an emulator truncate or replace the file; it naps on a FIFO no one
# writes to, not with sleep(1): a guest that prints nothing costs a scan
# every 5 s.

# open_watch: LOG_FD on the serial log, NAP_FD on a FIFO in WORK.
open_watch() {
	mkfifo "$WORK/nap" || die "mkfifo $WORK/nap failed"
	exec {NAP_FD}<>"$WORK/nap" {LOG_FD}<"$LOG"
}

# nap SECONDS: sleep without starting a process (read times out: > 128).
nap() {
	local rc=0
	read -rt "$1" -u "$NAP_FD" _ || rc=$?
	((rc > 128)) || die "nap: read on $WORK/nap gave status $rc"
}

# log_grew: whether the log has had bytes appended since the last call
# (which are read and dropped: the greps read the whole log).
log_grew() {
	local chunk="" grew=1
	while IFS= read -r -d '' -u "$LOG_FD" chunk; do grew=0; done
	[[ -z $chunk ]] || grew=0
	return "$grew"
}

# watchdog: sets VERDICT to finished, exited, panic or timeout.
watchdog() {
	local start=$SECONDS done_at="" scanned=$SECONDS
	VERDICT=exited
	open_watch
	while kill -0 "$EMU_PID" 2>/dev/null; do
		if log_grew || ((SECONDS - scanned >= 5)); then
			scanned=$SECONDS
			if PANIC_LINE=$(grep -m1 -aE -e "$PANIC_RE" "$LOG" | tr -d '\r'); then
				VERDICT=panic
				# A BUG/Oops report goes on for a few lines: let it finish.
				# (After a panic, panic=-1 reboots at once: nothing to wait for.)
				[[ $PANIC_LINE == *"Kernel panic"* ]] ||
					wait_for '---\[ end trace' 5 || true
				return
			fi
			if guest_done; then
				VERDICT=finished
				return
			fi
			if [[ -z $done_at ]] && grep -qaE -e "$DONE_RE" "$LOG"; then
				done_at=$SECONDS
			fi
		fi
		if [[ -n $done_at ]] && ((SECONDS - done_at > DONE_GRACE)); then
			log "PLE-DONE seen but $EMU_NAME did not exit within ${DONE_GRACE}s of it"
			VERDICT=finished
			return
		fi
		if ((SECONDS - start >= TIMEOUT)); then
			VERDICT=timeout
			return
		fi
		nap 0.2
	done
}

show_tail() {
	echo "---- last 30 lines of $LOG ----" >&2
	if [[ -s $LOG ]]; then
		tail -n 30 "$LOG" | tr -d '\r' >&2
	else
		echo "(empty: the kernel printed nothing yet)" >&2
	fi
	echo "---- end of $LOG${EMU_LOG:+ ($EMU_NAME log: $EMU_LOG)} ----" >&2
}

# kind_of LINE: which of panic/BUG/Oops a matched line is.
kind_of() {
	case "$1" in
	*"Kernel panic"*) echo "kernel panic" ;;
	*"early exception"*) echo "kernel panic in early boot" ;;
	*BUG*) echo "kernel BUG" ;;
	*) echo "kernel Oops" ;;
	esac
}

# conclude STATUS: exit with the verdict's status (STATUS: the emulator's).
conclude() {
	local status=$1 rc
	case "$VERDICT" in
	panic)
		show_tail
		fail $EXIT_PANIC "$(kind_of "$PANIC_LINE") after $ELAPSED s: '$PANIC_LINE' ($EMU_NAME killed)" ;;
	timeout)
		show_tail
		fail $EXIT_TIMEOUT "timeout: no PLE-DONE within $TIMEOUT s, guest hung ($EMU_NAME killed)" ;;
	esac
	rc=$("$PYTHON" "$GUESTLOG" status "$LOG") && rc=${rc#rc=} || rc=""
	if [[ -n $rc ]]; then
		if [[ $VERDICT == finished ]]; then
			log "PLE-DONE rc=$rc after $ELAPSED s (log complete, $EMU_NAME stopped)"
		else
			log "PLE-DONE rc=$rc after $ELAPSED s ($EMU_NAME exit status $status)"
		fi
		exit 0
	fi
	show_tail
	[[ ! -s $EMU_STDERR ]] || tail -n 5 "$EMU_STDERR" >&2
	fail $EXIT_NO_MARKER "$EMU_NAME exited (status $status) after $ELAPSED s without the PLE-DONE marker"
}

# The guest's init restarts a stalled UART with console messages (see
# config/init.sh), which can land in the middle of a line of test output:
# take them out, so that the log reads as the guest wrote it.
unsplice_drain_messages() {
	if [[ -f $LOG ]]; then
		"$PYTHON" "$GUESTLOG" unsplice "$LOG" ||
			log "warning: could not take the drain messages out of $LOG"
	fi
}

# watch_guest: from the emulator's start to the verdict (exits).
watch_guest() {
	local status=0 t0=$SECONDS
	load_patterns
	watchdog
	exec {LOG_FD}<&- {NAP_FD}<&-
	stop_emulator
	{ wait "$EMU_PID"; } 2>/dev/null || status=$?
	ELAPSED=$((SECONDS - t0))
	EMU_PID=""
	unsplice_drain_messages
	conclude "$status"
}
