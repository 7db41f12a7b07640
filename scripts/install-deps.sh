#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian 12 packages the scripts and checks need (as root, or
# through sudo).  Only missing packages are installed, so a second run is
# quick; a package apt cannot install is named.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

PACKAGES=(
	# kernel build
	make gcc libc6-dev bc bison flex libelf-dev libssl-dev cpio xz-utils
	ccache rsync perl git
	# checks: checkpatch (spdxcheck needs ply and GitPython), b4; sparse
	# is built from Debian sid's source (scripts/build/get-sparse.sh: dpkg-source)
	python3-ply python3-git b4 shellcheck dpkg-dev
	# checks: scripts/read/guestlog.py (ci/01-lint.t)
	python3 pyflakes3
	# the emulated AMD machine and its boot disk
	bochs bochsbios vgabios bochs-term busybox-static syslinux syslinux-common
	syslinux-utils mtools dosfstools util-linux procps uuid-dev
	# KVM-unit-tests (ci/35-kut.t): QEMU, its libraries and SeaBIOS staged
	# into the guest
	qemu-system-x86 seabios
	# make bench: the plot
	gnuplot-nox
)

missing() {
	local p
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			echo "$p"
	done
}

main() {
	local -a todo sudo=()
	mapfile -t todo < <(missing)
	if [ ${#todo[@]} -eq 0 ]; then
		log "all ${#PACKAGES[@]} packages are installed"
		return
	fi
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	log "installing: ${todo[*]}"
	"${sudo[@]}" apt-get update -qq || die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
		--no-install-recommends "${todo[@]}" >/dev/null ||
		die "apt-get could not install: ${todo[*]}"
	mapfile -t todo < <(missing)
	[ ${#todo[@]} -eq 0 ] || die "still missing after apt-get: ${todo[*]}"
}

main "$@"
