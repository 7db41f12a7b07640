# SPDX-License-Identifier: GPL-2.0
# The two commands of README.md.  The cache is $(PLE_CACHE), by default
# ~/.cache/svm-ple; nothing is built inside the repository.

.PHONY: bench check check-fast demo deps export hw-report maintainers

# Both install what is missing first (quick when nothing is).
# Two checks at a time: most boot guests two at a time, but each has a
# stretch on one CPU (builds, set-up, the verdicts); what they share in
# the cache is locked (cache_lock, scripts/lib/common.sh).  --merge: a
# check's standard error goes with its TAP.  Without it prove, having read
# a line of a check's standard error, waits in that check's pipes for its
# next TAP line, starting no other check meanwhile: a check that logged a
# line and then booted guests for a minute left the other slot idle.
check: deps
	prove -v --merge --timer -j2 ci/*.t

# The checks that need no kernel, no base tree and no Bochs: lint, the
# check layer, the guest-log reader and the bench's analysis on saved
# logs.  Under a minute.
# (ci/10-series.t is left out: it needs the base tree, a 166 MB download.)
check-fast: deps
	prove -v --merge --timer ci/00-tap.t ci/01-lint.t ci/05-guestlog.t ci/06-benchlog.t

demo: deps
	scripts/demo.sh

# Not a check: what restored pause filtering buys on the count-only CPU.
bench: deps
	scripts/bench.sh

# On a real AMD host (QEMU/KVM): the selftests on base and patched, one
# report file (its path printed last); where the host cannot, says why.
hw-report: deps
	scripts/hw-report.sh

deps:
	scripts/install-deps.sh

# Developers: re-export patches/ and selftests/ from work/linux.
export:
	scripts/export-series.sh

maintainers:
	scripts/maintainers.sh --write
