#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# build-kernel.sh SRC OUT: build the Bochs test kernel out of tree.
#
# .config = tinyconfig + SRC/tools/testing/selftests/kvm/config
#           + config/bochs.config (merged with the kernel's merge_config.sh,
#           then olddefconfig).  It is only regenerated when the fragments,
#           SRC's commit, SRC's uncommitted Kconfig changes or the compiler
#           change, or it was changed since (stamp: OUT/.ple-config.stamp,
#           with the hash of the .config it made); an unchanged result keeps
#           the old .config (and its mtime), so rebuilds stay incremental.
# ccache is used when installed (CCACHE_DIR=$CACHE_DIR/ccache).
# Prints OUT/arch/x86/boot/bzImage on stdout at the end.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"

usage() {
	echo "usage: ${0##*/} [-h|--help] SRC OUT"
	echo "  SRC  kernel source tree (read-only; git repository preferred)"
	echo "  OUT  build directory (created; reused between runs)"
}

parse_args() {
	case "${1:-}" in
	-h | --help) usage; exit 0 ;;
	-*) bad_usage "unknown option '$1'" ;;
	esac
	[[ $# -eq 2 ]] || bad_usage "expected SRC and OUT, got $# argument(s)"
	[[ -f $1/Makefile && -f $1/Kconfig ]] ||
		die "SRC '$1' is not a kernel source tree (no Makefile/Kconfig)"
	SRC=$(cd "$1" && pwd)
	mkdir -p "$2" || die "cannot create build directory '$2'"
	OUT=$(cd "$2" && pwd)
	[[ $OUT != "$SRC" ]] || die "OUT must differ from SRC (SRC is read-only)"
	KVM_FRAG=$SRC/tools/testing/selftests/kvm/config
	BOCHS_FRAG=$REPO_DIR/config/bochs.config
	[[ -r $KVM_FRAG ]] || die "missing fragment $KVM_FRAG"
	[[ -r $BOCHS_FRAG ]] || die "missing fragment $BOCHS_FRAG"
	[[ -x $SRC/scripts/kconfig/merge_config.sh ]] ||
		die "missing $SRC/scripts/kconfig/merge_config.sh"
}

check_tools() {
	need_cmd make make
	need_cmd gcc gcc
	need_cmd flex flex
	need_cmd bison bison
	need_cmd bc bc
	need_cmd sha256sum coreutils
	[[ -f /usr/include/gelf.h ]] ||
		die "/usr/include/gelf.h not found (objtool): install libelf-dev"
	[[ -f /usr/include/openssl/ssl.h ]] ||
		die "/usr/include/openssl/ssl.h not found: install libssl-dev"
}

kmake() { make -C "$SRC" O="$OUT" "${CC_ARGS[@]}" "$@"; }

# src_identity: what of SRC decides the generated .config: the Kconfig
# files' contents, not the commit, so that switching a work tree between
# variants of the series (the checks do) keeps the configuration.
src_identity() {
	local top
	top=$(git -C "$SRC" rev-parse --show-toplevel 2>/dev/null || true)
	if [[ -n $top && $(cd "$top" && pwd) == "$SRC" ]]; then
		git -C "$SRC" --no-optional-locks ls-files -s -- ':(glob)**/Kconfig*'
		git -C "$SRC" --no-optional-locks diff HEAD -- ':(glob)**/Kconfig*'
	else
		find "$SRC" -name 'Kconfig*' -type f -print0 | sort -z |
			xargs -0 cat
	fi
}

config_stamp() {
	{
		echo "ple-config v1"
		cat "$KVM_FRAG" "$BOCHS_FRAG"
		src_identity
		toolchain_id
	} | inputs_hash
}

# verify_config: every =y line of both fragments must be in OUT/.config.
verify_config() {
	local missing line
	missing=$(cat "$KVM_FRAG" "$BOCHS_FRAG" | grep -E '^CONFIG_[A-Za-z0-9_]+=y$' |
		sort -u | while read -r line; do
			grep -qxF "$line" "$OUT/.config" || echo "${line%=y}"
		done)
	[[ -z $missing ]] || die "fragment options lost by olddefconfig" \
		"(unmet dependency or unknown symbol): $(echo "$missing" | tr '\n' ' ')"
}

# gen_config: generate the configuration in a scratch directory, so that
# the 32-bit tinyconfig never lands in OUT, and install it in OUT only if
# it differs (an unchanged .config keeps the build incremental).
gen_config() {
	local cfg=$OUT/.config tmp
	log "generating $cfg (tinyconfig + kvm/config + bochs.config)"
	tmp=$(mktemp -d "$OUT/.kconfig.XXXXXX")
	make -C "$SRC" O="$tmp" -s tinyconfig || die "make tinyconfig failed"
	(cd "$tmp" && "$SRC/scripts/kconfig/merge_config.sh" -m -O "$tmp" \
		"$tmp/.config" "$KVM_FRAG" "$BOCHS_FRAG" >"$OUT/merge_config.log") ||
		die "merge_config.sh failed (see $OUT/merge_config.log)"
	make -C "$SRC" O="$tmp" -s olddefconfig || die "make olddefconfig failed"
	if [[ -f $cfg ]] && cmp -s "$tmp/.config" "$cfg"; then
		log ".config unchanged"
	else
		cp "$tmp/.config" "$cfg"
	fi
	rm -rf "$tmp"
	kmake -s olddefconfig || die "make olddefconfig failed in $OUT"
	verify_config
}

# ensure_config: OUT/.config as config_stamp's inputs make it.  The stamp
# holds the hash of the .config it made too: a .config changed since (by
# hand, e.g. make menuconfig O=OUT) is made again.
ensure_config() {
	local stamp_file=$OUT/.ple-config.stamp stamp
	stamp=$(config_stamp)
	if [[ -f $OUT/.config && -f $stamp_file &&
		$(cat "$stamp_file") == "$stamp $(inputs_hash <"$OUT/.config")" ]]; then
		log "fragments and Kconfig unchanged: keeping $OUT/.config"
		return
	fi
	rm -f "$stamp_file"
	gen_config
	echo "$stamp $(inputs_hash <"$OUT/.config")" >"$stamp_file"
}

main() {
	parse_args "$@"
	check_tools
	setup_cc
	ensure_config
	log "make -j$(njobs) bzImage in $OUT"
	kmake -j"$(njobs)" bzImage || die "kernel build failed in $OUT"
	[[ -f $OUT/arch/x86/boot/bzImage ]] ||
		die "build finished but $OUT/arch/x86/boot/bzImage is missing"
	echo "$OUT/arch/x86/boot/bzImage"
}

main "$@"
