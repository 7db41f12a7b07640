#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# get-bochs.sh: print the path of the "bochs" binary of our Bochs, building
# it into the cache if needed.
#
# Our Bochs is upstream Bochs master at commit 783b58fd6d9b with the fixes in
# bochs/patches/ (physical interrupts in SVM/VMX guest mode, PAUSE filter
# threshold 0), configured like Debian's bochs 2.7 package (see
# CONFIGURE_FLAGS).  It is built into $CACHE_DIR/tools/bochs-KEY, where KEY
# hashes the source tarball, the patches, the configure flags and this
# script; a second run with the cache present only computes KEY.
#
# Source: $PLE_BOCHS_TARBALL (default ../shared/bochs-783b58fd.tar.gz next to
# the repository), a tarball whose top directory bochs-783b58fd/ holds the
# bochs/ directory of the upstream repository.  Without it the script says
# how to make it and exits with status 3, so that a caller can fall back to
# Debian's stock Bochs (with a warning); any other failure exits with 1.
#
# Running the binary:
#  - Plugins: the plugin directory PREFIX/lib/bochs/plugins is compiled in
#    and used when LTDL_LIBRARY_PATH is unset; Bochs reads LTDL_LIBRARY_PATH
#    first, so a caller should export the value "--env" prints, in case its
#    environment points at another Bochs' plugins (Debian's 2.7 plugins do
#    not fit this binary).
#  - Firmware: nothing of Bochs' share directory is installed (its install
#    needs a firmware blob the tarball lacks); use Debian's: packages
#    bochsbios and vgabios, with "romimage: file=/usr/share/bochs/
#    BIOS-bochs-latest" and "vgaromimage: file=/usr/share/vgabios/
#    vgabios.bin" in the bochsrc, or BXSHARE=/usr/share/bochs ("--env") for
#    the defaults.
#  - Sound: built without ALSA and OSS, so the default sound driver is
#    "dummy" and the bochsrc needs no "sound:" line (with ALSA a self-built
#    2.7 aborted at start; with OSS and no /dev/dsp the PC speaker panics).
#  - Displays: term, rfb and nogui ("display_library: nogui" opens no
#    socket and needs no terminal).  The debugger is built in: "-rc FILE".
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

TARBALL=${PLE_BOCHS_TARBALL:-${REPO_DIR%/*}/shared/bochs-783b58fd.tar.gz}
PATCH_DIR=$REPO_DIR/bochs/patches
# PLE_BOCHS_PATCHES=none builds upstream master as it is, to compare.
[ "${PLE_BOCHS_PATCHES:-}" != none ] || PATCH_DIR=
EXIT_NO_SOURCE=3

# Debian packages needed to build with CONFIGURE_FLAGS ("--deps" prints
# them); at run time: libltdl7, libncurses6, libreadline8, bochsbios, vgabios.
BOCHS_BUILD_DEPS=(gcc g++ make patch libltdl-dev libncurses-dev libreadline-dev)

# The configure flags of Debian's bochs 2.7 (2.7+dfsg-4+deb12u1,
# debian/rules, override_dh_auto_configure), except:
#  - dropped --with-sdl2, --with-x11, --with-wx and --enable-debugger-gui
#    (explicitly disabled, with the GTK USB debugger): their build-deps
#    (SDL2, X11, wxWidgets, GTK 3) are most of the ~117 packages Debian's
#    build-deps pull in, and buy nothing headless;
#  - dropped --enable-compressed-hd and --enable-disasm: not options of this
#    configure (the disassembler is always built);
#  - added --with-nogui: a display that needs no terminal and no socket;
#  - added --enable-readline (the default when libreadline-dev, one of
#    Debian's build-deps, is installed) to make that choice explicit;
#  - ALSA and OSS are kept out (the ac_cv_header_* settings, whatever is
#    installed; likewise libsamplerate and soxr, which Debian's build
#    lacks too): the default sound driver is then "dummy", as emulated
#    sound devices and the PC speaker need one that opens (with ALSA a
#    self-built 2.7 aborted at start, uninitialised buffer size; without
#    /dev/dsp, OSS panics "Could not open wave output device");
#  - CFLAGS/CXXFLAGS -O2 without -g (and without dpkg-buildflags'
#    hardening): a faster build.
# --prefix is added at build time.
CONFIGURE_FLAGS=(
	--with-rfb --with-term --with-nogui
	--disable-docbook --disable-debugger-gui --disable-usb-debugger
	--enable-3dnow --enable-a20-pin --enable-all-optimizations --enable-avx
	--enable-busmouse --enable-cdrom --enable-cet --enable-clgd54xx
	--enable-cpu-level=6 --enable-debugger --enable-e1000 --enable-es1370
	--enable-evex --enable-fpu --enable-idle-hack --enable-instrumentation
	--enable-pci --enable-plugins --enable-repeat-speedups --enable-memtype
	--enable-ne2000 --enable-pnic --enable-protection-keys
	--enable-raw-serial --enable-sb16 --enable-smp --enable-svm --enable-usb
	--enable-usb-ehci --enable-usb-ohci --enable-usb-xhci --enable-vmx=2
	--enable-voodoo --enable-x86-64 --enable-x86-debugger --enable-pcidev
	--enable-readline
	ac_cv_header_alsa_asoundlib_h=no ac_cv_header_sys_soundcard_h=no
	ac_cv_header_samplerate_h=no ac_cv_header_soxr_lsr_h=no
	CFLAGS=-O2 CXXFLAGS=-O2
)

WORK='' STAGE=''
trap 'rm -rf -- ${WORK:+"$WORK"} ${STAGE:+"$STAGE"}' EXIT

usage() {
	cat <<-EOF
		usage: ${0##*/} [--env|--deps]
		Prints the path of our Bochs' binary, building it into
		$CACHE_DIR/tools if needed; with --env, prints instead the
		VAR=value lines a caller exports to run it.  --deps prints the
		Debian packages the build needs, one a line, and builds nothing.
		Source: \$PLE_BOCHS_TARBALL (now $TARBALL).
		Exit status: 0 ok, 3 source tarball missing, 1 other failure.
	EOF
}

# no_source: explain how to get the source tarball, exit 3.
no_source() {
	cat >&2 <<-EOF
		${0##*/}: Bochs source not found: $TARBALL
		  It is upstream Bochs at commit 783b58fd6d9b, the repository's bochs/
		  directory under the prefix bochs-783b58fd/.  To make it:
		    git clone https://github.com/bochs-emu/Bochs
		    git -C Bochs archive --prefix=bochs-783b58fd/ \\
		        -o "\$PWD/bochs-783b58fd.tar.gz" 783b58fd6d9b:bochs
		    export PLE_BOCHS_TARBALL=\$PWD/bochs-783b58fd.tar.gz
	EOF
	exit "$EXIT_NO_SOURCE"
}

# cache_key: 16 hex digits over everything the build depends on.
cache_key() {
	{
		sha256sum <"$TARBALL"
		[ -z "$PATCH_DIR" ] || cat "$PATCH_DIR"/*.patch
		printf '%s\n' "${CONFIGURE_FLAGS[@]}"
		cat "${BASH_SOURCE[0]}"
	} | inputs_hash | cut -c1-16
}

# missing_deps: the packages of BOCHS_BUILD_DEPS that are not installed.
missing_deps() {
	local p
	for p in "${BOCHS_BUILD_DEPS[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q '^install ok installed$' || echo "$p"
	done
}

apt_install() {
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "$@" >&2
}

# install_deps: install the missing build-deps, naming any that fails.
install_deps() {
	local missing p
	mapfile -t missing < <(missing_deps)
	[ "${#missing[@]}" -gt 0 ] || return 0
	[ "$(id -u)" = 0 ] ||
		die "missing build-deps, as root: apt-get install ${missing[*]}"
	need_cmd apt-get apt
	log "installing build-deps: ${missing[*]}"
	apt_install "${missing[@]}" && return 0
	log "apt-get install failed; apt-get update and one package at a time"
	apt-get update -q >&2 || log "warning: apt-get update failed"
	for p in "${missing[@]}"; do
		apt_install "$p" || die "could not install the Debian package '$p'"
	done
}

# unpack SRC: the tarball's tree in SRC, with our patches applied.
unpack() {
	local src=$1 p
	mkdir -p "$src"
	tar -xzf "$TARBALL" -C "$src" --strip-components=1 ||
		die "could not unpack $TARBALL"
	[ -f "$src/cpu/svm.cc" ] || die "$TARBALL does not hold the Bochs tree"
	[ -n "$PATCH_DIR" ] || return 0
	for p in "$PATCH_DIR"/*.patch; do
		patch -d "$src" -p1 --batch --forward --quiet <"$p" >&2 ||
			die "$(basename "$p") does not apply to $TARBALL"
	done
}

# build OUT KEY: configure, build and install our Bochs into OUT.
build() {
	local out=$1 key=$2 log_file t0
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/ple-bochs.XXXXXX")
	STAGE=$(mktemp -d "$TOOLS_DIR/.bochs-$key.XXXXXX")
	log_file=$TOOLS_DIR/bochs-$key.log
	unpack "$WORK/src"
	mkdir "$WORK/build"
	log "building Bochs ($(njobs) jobs, several minutes; log: $log_file)"
	t0=$SECONDS
	if ! (cd "$WORK/build" &&
		../src/configure --prefix="$out" "${CONFIGURE_FLAGS[@]}" &&
		make -j"$(njobs)" &&
		make install_bin install_libtool_plugins DESTDIR="$STAGE") \
		>"$log_file" 2>&1; then
		tail -n 25 "$log_file" >&2
		die "building Bochs failed (log: $log_file)"
	fi
	[ -x "$STAGE$out/bin/bochs" ] || die "no bin/bochs after the install"
	mv -T "$STAGE$out" "$out" 2>/dev/null || [ -x "$out/bin/bochs" ] ||
		die "could not move the build to $out"
	log "built $out in $((SECONDS - t0)) s"
}

# print_env OUT: the environment our Bochs needs.
print_env() {
	echo "LTDL_LIBRARY_PATH=$1/lib/bochs/plugins"
	echo "BXSHARE=/usr/share/bochs"
}

# install_and_build OUT KEY: the build-deps, then the build.
install_and_build() {
	install_deps
	build "$@"
}

main() {
	local want_env=0 key out
	case "${1:-}" in
	-h|--help) usage; exit 0 ;;
	--env) want_env=1 ;;
	--deps) printf '%s\n' "${BOCHS_BUILD_DEPS[@]}"; exit 0 ;;
	"") ;;
	*) usage >&2; exit 2 ;;
	esac
	[ -f "$TARBALL" ] || no_source
	[ -z "$PATCH_DIR" ] || compgen -G "$PATCH_DIR/*.patch" >/dev/null ||
		die "no patches in $PATCH_DIR"
	key=$(cache_key)
	out=$TOOLS_DIR/bochs-$key
	build_once "$out" bin/bochs install_and_build "$out" "$key"
	if [ "$want_env" = 1 ]; then
		print_env "$out"
	else
		echo "$out/bin/bochs"
	fi
}

main "$@"
