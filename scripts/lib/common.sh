# SPDX-License-Identifier: GPL-2.0
# Common helpers, sourced by every script in scripts/ and ci/.
# shellcheck disable=SC2034 # the variables are for the scripts that source this
# shellcheck shell=bash

# The repository root, and the cache that lives outside of it.
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE_DIR=${PLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/svm-ple}
# The base tree (a git repository whose tag "base" is v7.3-rc7).
BASE_GIT=$CACHE_DIR/src/base
SRC_DIR=$CACHE_DIR/src
BUILD_DIR=$CACHE_DIR/build
# Every other place of the cache, here and nowhere else:
DL_DIR=$CACHE_DIR/dl              # downloaded .debs (get-base.sh)
APT_DIR=$CACHE_DIR/apt            # private apt state for the base (get-base.sh)
APT_SPARSE_DIR=$CACHE_DIR/apt-sparse # the same for sparse's source (get-sparse.sh)
TOOLS_DIR=$CACHE_DIR/tools        # sparse, by key
PRODUCTS_DIR=$CACHE_DIR/products  # kernels by the hash of their inputs (build.sh)
RUNS_DIR=$CACHE_DIR/runs          # one directory per boot (scripts/lib/guests.sh)
BENCH_DIR=$CACHE_DIR/bench        # make bench's tables and plots
SELFTESTS_DIR=$BUILD_DIR/selftests # the KVM selftests and probes (build-selftests.sh)
# The stamp of a selftests build directory: the hash of the inputs of its
# install, removed by whatever changes the install (build-selftests.sh).
SELFTESTS_STAMP=.ple-inputs
# Named where they are used, all under CACHE_DIR: v/ (variant_src and
# variant_build below), ccache/ (setup_cc), locks/ (cache_lock), logs/
# (step), initrd/ (run-guest.sh, initramfses by their hash).
# One directory per kernel variant (base, patched, the mutants...), holding
# its git work tree (src) and its build directory (build) side by side: the
# compiler then sees the same relative paths ("../src/...") for every
# variant, and ccache serves one variant's objects to the next.
variant_src() { echo "$CACHE_DIR/v/$1/src"; }
variant_build() { echo "$CACHE_DIR/v/$1/build"; }
# The series' revision, in every patch's subject (export-series.sh,
# mail-series.sh) and in COVER_LETTER.txt's.
SERIES_PREFIX="PATCH"
# A text of COVER_LETTER.txt still to fill: mail-series.sh and ci/10
# refuse one.
COVER_FILL_RE='@[A-Z_]+@'
# format_series TREE RANGE ARGS...: the one git format-patch invocation of
# the series (export-series.sh, mail-series.sh, ci/10-series.t), with the
# caller's ARGS (-o DIR, --stdout, --thread, --cover-letter...).  The index
# lines' hashes have a fixed length (the kernel's core.abbrev=12): git's
# own default grows with the number of objects, which differs from one
# clone of the base to the next.  A base-commit: trailer only when the
# base is a commit others have (get-base.sh --git, or --kernel of a git
# tree): our import of Debian's v7.3-rc7 tarball (made by the scripts'
# identity, below) is a commit nobody else has, and the cover letter names
# that base in words.
format_series() {
	local tree=$1 range=$2 base_opt=()
	shift 2
	[ "$(git -C "$tree" log -1 --format=%an base)" = "$SCRIPTS_NAME" ] ||
		base_opt=(--base=base)
	git -C "$tree" format-patch -q --zero-commit --no-signature --abbrev=12 \
		--subject-prefix="$SERIES_PREFIX" "${base_opt[@]}" "$@" "$range"
}

# bad_usage MSG: the caller's usage() and MSG on standard error; exit 1.
bad_usage() { usage >&2; die "$*"; }

# parse_opts 'NAME=VAR ...' 'NAME=VAR ...' "$@": a script's command line.
# --NAME VALUE (first list) sets VAR to VALUE; --NAME (second list, the
# flags) sets VAR to 1.  The lists may span lines; the caller sets the
# defaults first (VAR may be one of its locals).  -h and --help run the caller's usage(); the other
# arguments go to ARGS, in order.  An option without its value, or one in
# neither list, is a usage error.
parse_opts() {
	local values=" ${1//[$'\t\n']/ } " flags=" ${2//[$'\t\n']/ } " var
	shift 2
	ARGS=()
	while [[ $# -gt 0 ]]; do
		case "$1" in
		-h | --help) usage; exit 0 ;;
		-?*)
			if var=$(opt_var "$values" "$1"); then
				[[ $# -ge 2 ]] || bad_usage "$1 needs a value"
				printf -v "$var" '%s' "$2"
				shift 2
			elif var=$(opt_var "$flags" "$1"); then
				printf -v "$var" 1
				shift
			else
				bad_usage "unknown option '$1'"
			fi ;;
		*) ARGS+=("$1"); shift ;;
		esac
	done
}
# no_args: after parse_opts, for a script that takes no argument but its
# options.
no_args() { [[ ${#ARGS[@]} -eq 0 ]] || bad_usage "unexpected argument '${ARGS[0]}'"; }
# opt_var ' NAME=VAR ... ' --NAME: the VAR of --NAME in the list.
opt_var() {
	local rest=${1#*" ${2#--}="}
	[[ $rest != "$1" ]] || return 1
	echo "${rest%% *}"
}
# Identity used for every commit the scripts make, so that hashes are
# reproducible from one machine to the next (the base's import always
# takes it: scripts/build/get-base.sh).
SCRIPTS_NAME="svm-ple scripts" SCRIPTS_EMAIL=svm-ple@invalid
export GIT_AUTHOR_NAME=${GIT_AUTHOR_NAME:-$SCRIPTS_NAME}
export GIT_AUTHOR_EMAIL=${GIT_AUTHOR_EMAIL:-$SCRIPTS_EMAIL}
export GIT_COMMITTER_NAME=${GIT_COMMITTER_NAME:-$SCRIPTS_NAME}
export GIT_COMMITTER_EMAIL=${GIT_COMMITTER_EMAIL:-$SCRIPTS_EMAIL}

log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }

# note MSG...: something to show even when all goes well (a known
# complaint, not counted): as diagnostics of the check that runs (ci/tap.sh
# check()), else on standard error.
note() {
	if [[ -n ${_TAP_NOTE_FILE:-} ]]; then
		printf '%s\n' "$@" >>"$_TAP_NOTE_FILE"
	else
		printf '%s\n' "$@" >&2
	fi
}

# step WHAT CMD...: one step of an entry point (make demo, bench...),
# quiet: a line when it starts, naming its log; CMD's standard error (the builds' and
# boots' output) goes to $CACHE_DIR/logs/SCRIPT.WHAT.log, and to the
# terminal as well with V=1 (make demo V=1); its standard output is left
# as is (a path CMD prints).  While it runs, every PLE_PROGRESS seconds
# (30) a line with the time so far and the log's last line (apt's, the
# kernel build's own "CC ..." lines).  Then one line: what, how long,
# where the log is; on failure the log's tail.
step() {
	local what=$1 log rc=0 t0=$SECONDS ticker
	shift
	mkdir -p "$CACHE_DIR/logs"
	log=$CACHE_DIR/logs/${0##*/}.$(tr -cs 'A-Za-z0-9.' '-' <<<"$what" | sed 's/^-*//; s/-*$//').log
	log "$what ... (log: $log)"
	if [ "${V:-0}" = 1 ]; then
		"$@" 2> >(tee "$log" >&2) || rc=$?
	else
		: >"$log"
		progress "$what" "$log" >/dev/null &
		ticker=$!
		"$@" 2>"$log" || rc=$?
		kill "$ticker" 2>/dev/null || true
		wait "$ticker" 2>/dev/null || true
	fi
	if [ "$rc" -eq 0 ]; then
		log "$what: $((SECONDS - t0)) s (log: $log)"
	else
		log "$what: failed after $((SECONDS - t0)) s (exit status $rc); the end of $log:"
		tail -n 20 "$log" | sed 's/^/  /' >&2
	fi
	return "$rc"
}

# progress WHAT LOG: step's progress lines, until killed (TERM).
progress() {
	local t0=$SECONDS nap last
	trap '[ -z "${nap:-}" ] || kill "$nap" 2>/dev/null; exit 0' TERM
	while :; do
		sleep "${PLE_PROGRESS:-30}" &
		nap=$!
		wait "$nap" || true
		last=$(tail -n 1 "$2" | tr -d '\r' | sed 's/^[[:space:]]*//; s/^\(.\{90\}\).\+/\1.../')
		log "  $1: $((SECONDS - t0)) s so far${last:+; last: $last}"
	done
}

# inputs_hash: the one hash of cache keys, over what is on standard input
# (everything a product is made from: commits, configs, scripts, the
# compiler's version); 64 hex digits.
inputs_hash() { sha256sum | cut -d' ' -f1; }

# toolchain_id: the compiler and the linker every product is built with,
# for the cache keys (inputs_hash).
toolchain_id() { gcc --version | head -n 1 && ld --version | head -n 1; }

# tree_state SRC: what of a git work tree decides what is built from it,
# for inputs_hash: its commit's tree and every uncommitted change to a
# tracked file (the change itself, not only its name).
tree_state() {
	git -C "$1" rev-parse 'HEAD^{tree}' &&
		git -C "$1" --no-optional-locks diff --binary HEAD
}

# setup_cc: compile through ccache where it is installed, with one compiler
# cache for every build of the project; fills CC_ARGS (make arguments).
setup_cc() {
	CC_ARGS=()
	if command -v ccache >/dev/null 2>&1; then
		export CCACHE_DIR=${CCACHE_DIR:-$CACHE_DIR/ccache}
		export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$CACHE_DIR}
		export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
		mkdir -p "$CCACHE_DIR"
		CC_ARGS=(CC="ccache gcc")
	else
		log "ccache not installed (apt-get install ccache): plain gcc"
	fi
}

# need_cmd CMD PACKAGE: fail with the Debian package to install.
need_cmd() {
	command -v "$1" >/dev/null 2>&1 ||
		die "'$1' not found: install the Debian package '$2' (apt-get install $2)"
}

# The emulated machines and the timing models, each read here only.
MACHINES=$REPO_DIR/config/machines
TIMING_MODELS=$REPO_DIR/config/timing-models

# machine_rows: the machines of config/machines, one a line, fields
# trimmed and separated by "|".
machine_rows() {
	awk -F'|' -v OFS='|' '!/^[[:space:]]*(#|$)/ {
		for (i = 1; i <= NF; i++) gsub(/^[ \t]+|[ \t]+$/, "", $i)
		$1 = $1; print }' "$MACHINES"
}

# machine_names: the machines' names, space separated.
machine_names() { machine_rows | cut -d'|' -f1 | paste -sd' '; }

# machine_field NAME FIELD: one field (emulator, cpu, args, timing, vcpus,
# memory, kvm, hw) of machine NAME, "" for "-"; an unknown machine is an
# error naming the valid ones.
machine_field() {
	local col row value
	case "$2" in
	emulator) col=2 ;; cpu) col=3 ;; args) col=4 ;; timing) col=5 ;;
	vcpus) col=6 ;; memory) col=7 ;; kvm) col=8 ;; hw) col=9 ;;
	*) die "machine_field: no field '$2'" ;;
	esac
	row=$(machine_rows | awk -F'|' -v m="$1" '$1 == m')
	[ -n "$row" ] || die "unknown machine '${1}'; the machines (config/machines): $(machine_names)"
	value=$(cut -d'|' -f"$col" <<<"$row")
	[ "$value" = - ] || echo "$value"
}

# The emulators the scripts run (config/machines' emulator column), each
# with the script that boots its machines.
EMULATORS="bochs-2.7 bochs-3.1 qemu-kvm qemu-tcg"

# machine_check NAME: machine NAME exists and its emulator is one the
# scripts run (EMULATORS).
machine_check() {
	local emu
	emu=$(machine_field "$1" emulator) || exit 1
	case " $EMULATORS " in
	*" $emu "*) ;;
	*) die "machine '$1' runs on '$emu', which the scripts do not implement (only: $EMULATORS)" ;;
	esac
}

# machine_boot NAME: the script that boots machine NAME: boot-bochs.sh (Bochs, a
# disk image) or boot-qemu.sh (QEMU, -kernel and -initrd).
machine_boot() {
	case "$(machine_field "$1" emulator)" in
	qemu-*) echo "$REPO_DIR/scripts/guest/boot-qemu.sh" ;;
	*) echo "$REPO_DIR/scripts/guest/boot-bochs.sh" ;;
	esac
}

# kernel_cmdline ARGS: the guest kernel's command line, whatever boots it
# (mkdisk.sh's syslinux.cfg, boot-qemu.sh's -append): the serial console
# at 115200 baud (at the default 9600 the emulated UART spends ~1 ms of
# guest time per byte), a panic stops the guest at once, early printk
# there too; then ARGS (the machine's, then the caller's).  "quiet": the
# console prints errors and worse, not warnings (console loglevel 4), so
# that no warning lands in the middle of a line of test output; a WARN()
# is reported after the tests instead (config/init.sh report_warn).  It
# comes before "earlyprintk": early parameters take effect in the order
# given, and the early console then prints what the console does.  The
# other way round it printed the 16 info lines of early boot (1.2 KB:
# e820 map, version, command line) byte by byte in a polling loop, ~87 us
# of guest time a byte: ~0.1 s of guest time, 250 M Bochs instructions and
# ~5 s of host CPU at K10's ips, in every boot.
kernel_cmdline() {
	echo "console=ttyS0,115200 panic=-1 quiet earlyprintk=serial,ttyS0,115200${1:+ $1}"
}

# timing_ips MODEL: the Bochs ips of a timing model of config/timing-models,
# derived here and nowhere else: a `pause; dec; jnz` pass is three Bochs
# instructions (one tick each) and costs about one PAUSE on the hardware,
# so ips = 3 * clock / pause cycles.  MODEL may also be an ips value.
timing_ips() {
	local ips
	if [[ $1 =~ ^[1-9][0-9]{5,}$ ]]; then echo "$1"; return; fi
	ips=$(awk -v m="$1" '$1 == m {
		c = $2
		if (c ~ /GHz$/) { sub(/GHz$/, "", c); c *= 1e9 }
		printf "%.0f\n", 3 * c / $3 }' "$TIMING_MODELS")
	[ -n "$ips" ] || die "unknown timing model '$1'; the models (config/timing-models):" \
		"$(awk '/^[a-z]/ { print $1 }' "$TIMING_MODELS" | paste -sd" ")"
	echo "$ips"
}

# cache_lock NAME: wait for the lock NAME of the cache, then hold it until
# the calling process (or subshell) exits.  make check runs two checks at a
# time (prove -j): whatever changes a work tree or a build directory that
# another check may use takes the lock of that variant ("v-NAME").  A lock
# that an ancestor holds (listed in PLE_LOCKS) is not taken again.
cache_lock() {
	local fd
	case " ${PLE_LOCKS:-} " in *" $1 "*) return 0 ;; esac
	mkdir -p "$CACHE_DIR/locks"
	exec {fd}>"$CACHE_DIR/locks/$1.lock"
	if ! flock -n "$fd"; then
		log "waiting for $1, in use by another run or check"
		flock "$fd"
	fi
	export PLE_LOCKS="${PLE_LOCKS:-} $1"
}

# build_once OUT DONE CMD...: unless OUT/DONE exists, run CMD (which builds
# OUT) under the lock of OUT; a build that another run finished while this
# one waited for the lock is not done again.  For the tools that are built
# into $TOOLS_DIR by the key of their inputs (sparse).
build_once() {
	local out=$1 done=$2
	shift 2
	[ -e "$out/$done" ] && return 0
	mkdir -p "$(dirname "$out")"
	cache_lock "${out##*/}"
	[ -e "$out/$done" ] || "$@"
}

# njobs: how many parallel jobs (make, guests) to use.
njobs() { nproc 2>/dev/null || echo 2; }

# The mirror this machine's apt already uses; never written in the repo.
apt_mirror() {
	local f uri=
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		uri=$(awk '/^URIs:/ { print $2; exit }' "$f")
		case "$uri" in *security*|"") uri= ;; *) break ;; esac
	done
	if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
		uri=$(awk '$1 == "deb" && $0 !~ /security/ {
			for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; exit } }' \
			/etc/apt/sources.list)
	fi
	[ -n "$uri" ] || die "no Debian mirror found in /etc/apt/sources.list{,.d}"
	echo "$uri"
}

# papt DIR apt-get|apt-cache ARGS...: apt with a private sources list,
# state and cache under DIR.
papt() {
	local dir=$1 cmd=$2
	shift 2
	"$cmd" -q -o Dir::Etc::SourceList="$dir/sources.list" \
		-o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State="$dir/state" -o Dir::Cache="$dir/cache" \
		-o Dir::State::status=/var/lib/dpkg/status \
		-o APT::Sandbox::User=root "$@"
}
