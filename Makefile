# SPDX-License-Identifier: GPL-2.0
# The two commands of README.md.  The cache is $(PLE_CACHE), by default
# ~/.cache/svm-ple; nothing is built inside the repository.

.PHONY: check demo deps export maintainers

# Both install what is missing first (quick when nothing is).
check: deps
	prove -v --timer ci/*.t

demo: deps
	scripts/demo.sh

deps:
	scripts/install-deps.sh

# Developers: re-export patches/ and selftests/ from work/linux.
export:
	scripts/export-series.sh

maintainers:
	scripts/maintainers.sh --write
