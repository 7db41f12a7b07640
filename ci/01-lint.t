#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Lint, with no kernel: shellcheck -x is silent on every bash script
# (scripts/*.sh, scripts/*/*.sh, ci/*.t, ci/tap.sh); the guest's /init (config/init.sh,
# busybox sh) parses with sh -n and is silent under shellcheck -s sh; the
# Python modules compile and pyflakes (Debian's pyflakes3) has nothing to
# say.  A few seconds.
# shellcheck disable=SC2317 # the functions run through check()
set -euo pipefail
# shellcheck source=ci/tap.sh
. "$(dirname "$0")/tap.sh"

cd "$REPO_DIR"
BASH_SCRIPTS=(scripts/*.sh scripts/*/*.sh ci/*.t ci/tap.sh)
PYTHON=(scripts/read/*.py)

plan 4
command -v shellcheck >/dev/null 2>&1 || bail "shellcheck not found: apt-get install shellcheck"

check "shellcheck -x is silent on ${#BASH_SCRIPTS[@]} bash scripts (scripts/, ci/)" \
	shellcheck -x "${BASH_SCRIPTS[@]}"

init_sh() {
	sh -n config/init.sh
	shellcheck -s sh config/init.sh
}
check "config/init.sh (/bin/sh in the guest): sh -n, then shellcheck -s sh" init_sh

compiles() {
	local f tmp
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/ple-lint.XXXXXX")
	for f in "${PYTHON[@]}"; do
		# The byte code goes to a scratch directory, not __pycache__/.
		PYTHONPYCACHEPREFIX=$tmp python3 -m py_compile "$f" || { rm -rf "$tmp"; return 1; }
	done
	rm -rf "$tmp"
}
check "python3 -m py_compile: ${PYTHON[*]}" compiles

if command -v pyflakes3 >/dev/null 2>&1; then
	check "pyflakes3 is silent on ${PYTHON[*]}" pyflakes3 "${PYTHON[@]}"
else
	skip "pyflakes3 not installed (Debian package pyflakes3, scripts/install-deps.sh)"
fi

done_testing
