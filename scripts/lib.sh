# SPDX-License-Identifier: GPL-2.0
# Common helpers, sourced by every script in scripts/ and ci/.
# shellcheck disable=SC2034 # the variables are for the scripts that source this
# shellcheck shell=bash

# The repository root, and the cache that lives outside of it.
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR=${PLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/svm-ple}
# The base tree (a git repository whose tag "base" is v7.3-rc7).
BASE_GIT=$CACHE_DIR/src/base
SRC_DIR=$CACHE_DIR/src
BUILD_DIR=$CACHE_DIR/build
# One directory per kernel variant (base, patched, the mutants...), holding
# its git work tree (src) and its build directory (build) side by side: the
# compiler then sees the same relative paths ("../src/...") for every
# variant, and ccache serves one variant's objects to the next.
variant_src() { echo "$CACHE_DIR/v/$1/src"; }
variant_build() { echo "$CACHE_DIR/v/$1/build"; }
# Identity used for every commit the scripts make, so that hashes are
# reproducible from one machine to the next.
export GIT_AUTHOR_NAME=${GIT_AUTHOR_NAME:-svm-ple scripts}
export GIT_AUTHOR_EMAIL=${GIT_AUTHOR_EMAIL:-svm-ple@invalid}
export GIT_COMMITTER_NAME=${GIT_COMMITTER_NAME:-svm-ple scripts}
export GIT_COMMITTER_EMAIL=${GIT_COMMITTER_EMAIL:-svm-ple@invalid}

log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }

# need_cmd CMD PACKAGE: fail with the Debian package to install.
need_cmd() {
	command -v "$1" >/dev/null 2>&1 ||
		die "'$1' not found: install the Debian package '$2' (apt-get install $2)"
}

# njobs: how many parallel jobs (make, guests) to use.
njobs() { nproc 2>/dev/null || echo 2; }
