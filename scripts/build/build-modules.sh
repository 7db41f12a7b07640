#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# build-modules.sh [--patches DIR] [--summary FILE]: the build matrix KVM
# x86 asks of every patch (Documentation/process/maintainer-kvm-x86.rst,
# "Testing"): KVM_INTEL=m KVM_AMD=m KVM_WERROR=y, with the knobs it names
# (KVM_SMM, KVM_XEN, PROVE_LOCKING) on and off, on x86_64.
#
# For the base and each patch applied in order (work tree of the variant
# "modules", the series of DIR, default patches/), and for each config:
#   .config   x86_64_defconfig + config/kvm-modules.config
#             + config/kvm-modules-knobs-{on,off}.config (merge_config.sh,
#             olddefconfig); every symbol of the fragments is checked in the
#             result, a lost one is named
#   build     make arch/x86/kvm/{kvm,kvm-amd,kvm-intel}.ko: kbuild's single
#             .ko targets run modules_prepare, compile arch/x86/kvm/ (and
#             virt/kvm/), run modpost on the three modules and link them;
#             no vmlinux.  modpost then cannot resolve the symbols of
#             vmlinux (KBUILD_MODPOST_WARN=1 makes that a warning; it reports
#             10 of them): the symbols the modules need that none of them
#             exports are listed with nm instead, and one that the base did
#             not need must have an EXPORT_*() in the tree.
# One build directory per config ($CACHE_DIR/v/modules/build/CONFIG), the
# commits checked out in turn, so a patch recompiles what it touches (the
# base is recompiled whole, through ccache, for a complete list of its
# warnings).  The warnings of a build (file:line stripped, -Werror=X read
# as -WX) are compared with the base's for the same config: a patch fails
# on a new one, or when it does not build.
#
# Results are kept by the hash of their inputs (the commit's tree, the
# .config, the compiler, this script), in $CACHE_DIR/v/modules/build/results:
# a second run compiles nothing.  Prints the matrix; exits 0 if every patch
# is clean in every config, 1 if not (or on a usage error, which says so),
# 2 if the base itself does not build.
# --summary FILE: one line per cell, "ROW<TAB>CONFIG<TAB>ok|fail<TAB>CELL<TAB>
# DETAILS", DETAILS a file with the new warnings (ci/22-modules.t).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

# The compiler's messages in one language, whoever runs it (kbuild
# unexports LC_ALL: LANG and LC_MESSAGES are what reach gcc).
export LC_ALL=C LANG=C LC_MESSAGES=C
CONFIGS=(knobs-on knobs-off)
VARIANT=modules
MODULES=(kvm kvm-amd kvm-intel)
KOS=(arch/x86/kvm/kvm.ko arch/x86/kvm/kvm-amd.ko arch/x86/kvm/kvm-intel.ko)

usage() {
	echo "usage: ${0##*/} [--patches DIR] [--summary FILE]"
	echo "  --patches DIR   the series to check (default: $REPO_DIR/patches)"
	echo "  --summary FILE  write one line per (row, config) for ci/22-modules.t"
}

parse_args() {
	PATCHES=$REPO_DIR/patches
	SUMMARY=
	parse_opts 'patches=PATCHES summary=SUMMARY' '' "$@"
	no_args
}

# kmake OUT TARGET...: make in the work tree, out of tree in OUT, quietly.
kmake() {
	local out=$1
	shift
	make -C "$WT" O="$out" -s -j"$(njobs)" "${CC_ARGS[@]}" "$@"
}

fragments() {
	echo "$REPO_DIR/config/kvm-modules.config" \
		"$REPO_DIR/config/kvm-modules-$1.config"
}

# config_stamp COMMIT CONFIG: what the .config of CONFIG at COMMIT is made
# of (the Kconfig files and defconfig of the commit, read from git, so no
# checkout is needed to know that a .config is current).
config_stamp() {
	{
		echo "kvm-modules config v1"
		git -C "$WT" ls-tree -r "$1" | grep -E '/Kconfig[^/]*$|^[^	]*	Kconfig|x86_64_defconfig$'
		# shellcheck disable=SC2046 # two file names
		cat $(fragments "$2")
		toolchain_id
	} | inputs_hash
}

# verify_config OUT CONFIG: every symbol of the fragments has its value in
# OUT/.config; merge_config.sh only warns when dependencies drop one.
verify_config() {
	local out=$1 cfg=$2 want line lost=""
	# shellcheck disable=SC2046 # two file names
	want=$(sed -nE 's/^(CONFIG_[A-Za-z0-9_]+=.*)$/\1/p; s/^# (CONFIG_[A-Za-z0-9_]+) is not set$/\1=n/p' \
		$(fragments "$cfg"))
	while read -r line; do
		case "$line" in
		*=n) ! grep -qE "^${line%=n}=" "$out/.config" || lost+=" ${line%=n}(wanted n)" ;;
		*) grep -qxF "$line" "$out/.config" || lost+=" ${line%%=*}(wanted ${line#*=})" ;;
		esac
	done <<<"$want"
	[ -z "$lost" ] || die "$cfg: the .config lost fragment settings (unmet dependency or unknown symbol):$lost"
}

# gen_config OUT CONFIG: the .config, made in a scratch directory and put in
# OUT only if it differs (an unchanged one keeps the build incremental).
gen_config() {
	local out=$1 cfg=$2 tmp
	tmp=$(mktemp -d "$out/.kconfig.XXXXXX")
	kmake "$tmp" x86_64_defconfig >/dev/null
	# shellcheck disable=SC2046 # two file names
	(cd "$tmp" && "$WT/scripts/kconfig/merge_config.sh" -m -O "$tmp" \
		"$tmp/.config" $(fragments "$cfg") >"$out/merge_config.log" 2>&1) ||
		die "$cfg: merge_config.sh failed (see $out/merge_config.log)"
	kmake "$tmp" olddefconfig >/dev/null
	cmp -s "$tmp/.config" "$out/.config" || cp "$tmp/.config" "$out/.config"
	rm -rf "$tmp"
	verify_config "$out" "$cfg"
}

# checkout COMMIT: the work tree at COMMIT (only the files that differ are
# rewritten, so the builds stay incremental).
checkout() {
	[ "$(git -C "$WT" rev-parse HEAD)" = "$(git -C "$WT" rev-parse "$1")" ] ||
		git -C "$WT" checkout -q --detach "$1"
}

# ensure_config COMMIT CONFIG: OUT/.config current for COMMIT.
ensure_config() {
	local c=$1 cfg=$2 out stamp
	out=$(build_dir "$cfg")
	stamp=$(config_stamp "$c" "$cfg")
	# The stamp holds the hash of the .config it made: one changed since
	# (by hand) is made again.
	[ -f "$out/.config" ] &&
		[ "$(cat "$out/.ple-config.stamp" 2>/dev/null)" = "$stamp $(inputs_hash <"$out/.config")" ] &&
		return
	checkout "$c"
	log "$cfg: generating the .config (x86_64_defconfig + $(fragments "$cfg" | xargs -n1 basename | tr '\n' ' '))"
	rm -f "$out/.ple-config.stamp"
	gen_config "$out" "$cfg"
	echo "$stamp $(inputs_hash <"$out/.config")" >"$out/.ple-config.stamp"
}

build_dir() { echo "$(variant_build "$VARIANT")/$1"; }

# result_key COMMIT CONFIG: the key of the result of COMMIT in CONFIG.
result_key() {
	{
		git -C "$WT" rev-parse "$1^{tree}"
		cat "$(build_dir "$2")/.config"
		toolchain_id
		cat "${BASH_SOURCE[0]}"
	} | inputs_hash
}

# diagnostics: the warnings and errors of a build log, normalised: no
# colours, no source path prefix, no line numbers or code offsets,
# -Werror=X as the warning -WX; modpost's notes on the missing vmlinux and
# its (capped) unresolved symbols left out (needed_syms() does those).
diagnostics() {
	sed -E 's/\x1b\[[0-9;]*[mK]//g' |
		grep -E '(^|: )(fatal )?(warning|error|WARNING|ERROR):' |
		grep -vE 'vmlinux\.o is missing|modpost: .*symbol .* undefined!|unresolved symbol warnings' |
		sed -E "s#^(\.\./)+src/##; s#^$WT/##; s#:[0-9]+:[0-9]+:#:#; s#:[0-9]+:#:#" |
		sed -E 's/\+0x[0-9a-f]+(\/0x[0-9a-f]+)?//g' |
		sed -E 's/: error: (.*) \[-Werror=([^]]*)\]$/: warning: \1 [-W\2]/' |
		sed -E "s/\xe2\x80[\x98\x99]/'/g" |
		sort -u
}

# needed_syms OUT: "MODULE SYMBOL" for what the modules need and none of
# them exports (modules-only.symvers): vmlinux's symbols, or unresolved.
needed_syms() {
	local out=$1 m
	for m in "${MODULES[@]}"; do
		nm -u "$out/arch/x86/kvm/$m.ko" | awk -v m="$m.ko" '{ print m, $2 }'
	done | awk 'NR == FNR { x[$2] = 1; next } !($2 in x)' \
		"$out/modules-only.symvers" - | sort -u
}

# build COMMIT CONFIG DIR: build and store the result in DIR: rc (make's
# status), log, diag (diagnostics()), syms (needed_syms(), if it built).
build() {
	local c=$1 cfg=$2 dir=$3 out rc=0 t0=$SECONDS
	out=$(build_dir "$cfg")
	checkout "$c"
	# The base from scratch (ccache): all of its warnings, for comparison.
	[ "$c" != base ] || rm -rf "$out/arch/x86/kvm" "$out/virt/kvm"
	rm -rf "$dir.tmp"; mkdir -p "$dir.tmp"
	kmake "$out" KBUILD_MODPOST_WARN=1 "${KOS[@]}" >"$dir.tmp/log" 2>&1 || rc=$?
	diagnostics <"$dir.tmp/log" >"$dir.tmp/diag" || true
	if [ "$rc" -eq 0 ]; then
		needed_syms "$out" >"$dir.tmp/syms" || die "nm on the modules of $out failed"
	fi
	echo "$rc" >"$dir.tmp/rc"
	log "$(row_name "$c") [$cfg]: make status $rc, $((SECONDS - t0)) s"
	date -u +%FT%TZ >"$dir.tmp/date"
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
}

# result COMMIT CONFIG: the directory of the result, built if not kept.
result() {
	local c=$1 cfg=$2 key dir
	ensure_config "$c" "$cfg"
	key=$(result_key "$c" "$cfg")
	dir=$RESULTS/$key
	if [ -f "$dir/rc" ]; then
		log "$(row_name "$c") [$cfg]: kept from $(cat "$dir/date") (${key:0:12})"
	else
		log "$(row_name "$c") [$cfg]: building"
		build "$c" "$cfg" "$dir"
	fi
	echo "$dir"
}

row_name() {
	if [ "$1" = base ]; then echo base; return; fi
	git -C "$WT" log -1 --format=%s "$1" | cut -c1-56 | sed 's/ *$//'
}

# exported SYMBOL COMMIT: whether the tree at COMMIT has an EXPORT_*() of
# SYMBOL (or of the tracepoint or static call it belongs to).
exported() {
	local s=$1 c=$2
	case "$s" in
	__SCK__tp_func_* | __SCT__tp_func_*) s=${s#__SC?__tp_func_} ;;
	__tracepoint_* | __traceiter_*) s=${s#__trace*_} ;;
	__SCK__* | __SCT__*) s=${s#__SC?__} ;;
	esac
	git -C "$WT" grep -qE "EXPORT_[A-Z_]*\([[:space:]]*${s}[[:space:]]*[,)]" "$c" -- \
		'*.c' '*.h' '*.S'
}

# new_problems COMMIT RESULT BASE_RESULT: the warnings of RESULT the base
# does not have, and the symbols it newly needs that nothing exports.
new_problems() {
	local c=$1 r=$2 b=$3 m s
	comm -13 "$b/diag" "$r/diag"
	[ -f "$r/syms" ] && [ -f "$b/syms" ] || return 0
	comm -13 "$b/syms" "$r/syms" | while read -r m s; do
		exported "$s" "$c" ||
			echo "$m: undefined symbol '$s': none of the KVM modules exports it, and the tree has no EXPORT_*() of it"
	done
}

# cell COMMIT RESULT BASE_RESULT NEWFILE: the matrix cell; NEWFILE gets the
# new problems.  Status 0 if clean.
cell() {
	local c=$1 r=$2 b=$3 new=$4 rc n
	rc=$(cat "$r/rc")
	if [ "$c" = base ]; then
		cp "$r/diag" "$new"
		n=$(wc -l <"$new")
		if [ "$rc" -ne 0 ]; then echo "build failed"; return 1; fi
		if [ "$n" -gt 0 ]; then echo "$n warnings"; else echo clean; fi
		return 0
	fi
	new_problems "$c" "$r" "$b" >"$new"
	n=$(wc -l <"$new")
	if [ "$rc" -ne 0 ] && { [ "$n" -eq 0 ] || grep -q ': \(fatal \)\?error:' "$new"; }; then
		echo "build failed"; return 1
	fi
	if [ "$n" -eq 0 ]; then echo clean; return 0; fi
	if [ "$n" -eq 1 ]; then echo "1 new warning"; else echo "$n new warnings"; fi
	return 1
}

# report: the matrix on stdout, the new problems on stderr, the summary.
report() {
	local c cfg r st cellv row out i=0 j worst=0
	local -a base_r=()
	printf '%-60s' "" ; printf ' %-18s' "${CONFIGS[@]}"; echo
	for c in "${COMMITS[@]}"; do
		row=$(row_name "$c")
		[ "$c" = base ] || row="$i $row"
		printf '%-60s' "$row"
		j=0
		for cfg in "${CONFIGS[@]}"; do
			r=${RES["$c $cfg"]}
			[ "$c" != base ] || base_r[j]=$r
			st=ok
			out=$REPORT/$i-$cfg
			cellv=$(cell "$c" "$r" "${base_r[j]}" "$out.new") || st=fail
			printf ' %-18s' "$cellv"
			[ "$st" = ok ] || details "$row" "$cfg" "$r" "$out" 2>>"$REPORT/details"
			[ -z "$SUMMARY" ] || printf '%s\t%s\t%s\t%s\t%s\n' "$row" "$cfg" "$st" \
				"$cellv" "$out.details" >>"$SUMMARY"
			if [ "$st" = fail ]; then
				if [ "$c" = base ]; then worst=2; elif [ "$worst" -eq 0 ]; then worst=1; fi
			fi
			j=$((j + 1))
		done
		echo
		i=$((i + 1))
	done
	return "$worst"
}

# details ROW CONFIG RESULT OUT: what makes a cell fail (the new problems
# of OUT.new, or the end of the log), in OUT.details and on stderr.
details() {
	{
		echo "$1 [$2]:"
		if [ -s "$4.new" ]; then sed 's/^/  /' "$4.new"; fi
		if [ "$(cat "$3/rc")" -ne 0 ]; then
			echo "  make failed; the end of $3/log:"
			tail -n 25 "$3/log" | sed 's/^/  /'
		fi
	} | tee "$4.details" >&2
}

main() {
	local c cfg rc=0
	parse_args "$@"
	need_cmd nm binutils
	"$REPO_DIR/scripts/build/get-base.sh" >/dev/null
	cache_lock "v-$VARIANT"
	WT=$("$REPO_DIR/scripts/build/apply-series.sh" --patches "$PATCHES" "$VARIANT")
	setup_cc
	[ ${#CC_ARGS[@]} -eq 0 ] || CC_ARGS+=(HOSTCC="ccache gcc")
	RESULTS=$(variant_build "$VARIANT")/results
	REPORT=$(variant_build "$VARIANT")/report
	mkdir -p "$RESULTS" "$(build_dir knobs-on)" "$(build_dir knobs-off)"
	rm -rf "$REPORT"; mkdir -p "$REPORT"
	[ -z "$SUMMARY" ] || : >"$SUMMARY"
	mapfile -t COMMITS < <(echo base; git -C "$WT" rev-list --reverse "base..series/$VARIANT")
	declare -gA RES=()
	for c in "${COMMITS[@]}"; do
		for cfg in "${CONFIGS[@]}"; do
			RES["$c $cfg"]=$(result "$c" "$cfg")
		done
	done
	git -C "$WT" checkout -q "series/$VARIANT"
	report || rc=$?
	[ ! -s "$REPORT/details" ] || cat "$REPORT/details" >&2
	return "$rc"
}

main "$@"
