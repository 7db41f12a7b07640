#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make bench's short form runs: scripts/bench.sh --short (one tick phase,
# short hand-off spans) completes; its JSON summary (scripts/read/benchlog.py)
# has its keys, positive figures and a verdict whose ratio parses; the
# policy verdict, the plot and the last line are printed.  The figures
# themselves are the benchmark's business, never checked here (their
# arithmetic is ci/06-benchlog.t's, on saved logs).
# shellcheck disable=SC2317 # the functions run through check()
set -euo pipefail
# shellcheck source=ci/tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=scripts/lib/guests.sh
. "$(dirname "$0")/../scripts/lib/guests.sh"
guests_init

mkdir -p "$BENCH_DIR"
OUT=$BENCH_DIR/short.out
LAST_RE='^overcommit 2:1 hand-off, faster with filtering: [0-9]+\.[0-9]x \([a-z0-9.-]+\)(, [0-9]+\.[0-9]x \([a-z0-9.-]+\))*$'

plan 6
if reason=$(emulator_missing count-only); then skip_all "$reason"; fi

run_bench() {
	local rc=0
	"$REPO_DIR/scripts/bench.sh" --short >"$OUT" 2>"$OUT.err" || rc=$?
	cat "$OUT" "$OUT.err"
	return "$rc"
}
check "scripts/bench.sh --short runs to its end" run_bench

# summary_json: the JSON summary, where the output says it is.
summary_json() { sed -n 's/.*; summary: \([^;]*\.json\);.*/\1/p' "$OUT"; }

# summary: the keys are there and every mode's figures are positive
# numbers: cycles and hand-offs/s at each overcommit, the busy-waits'
# PAUSE exits (the modes and sizes are benchlog.py's, imported).
summary() {
	local json
	json=$(summary_json)
	echo "summary: ${json:-none}"
	[ -s "$json" ]
	python3 - "$json" "$REPO_DIR/scripts/read" <<-'EOF'
		import json, sys
		sys.dont_write_bytecode = True
		sys.path.insert(0, sys.argv[2])
		import benchlog
		s = json.load(open(sys.argv[1]))
		keys = {"cpus", "phases", "modes", "runs", "records", "figures", "verdict"}
		assert keys <= set(s), "keys missing: %s" % (keys - set(s))
		assert [m["mode"] for m in s["modes"]] == [m for m, _ in benchlog.MODES], s["modes"]
		want = [("handoff", n, f) for n in benchlog.HANDOFF_VCPUS for f in ("cyc_median", "per_sec")]
		want += [("wait", ms, "pause_exits") for ms in benchlog.WAIT_MS]
		for cpu in s["cpus"]:
		    for m in s["modes"]:
		        for kind, n, field in want:
		            f = benchlog.fig(s, kind, cpu, m["mode"], n, field)
		            assert f, "no %s %s %s %s %s" % (kind, cpu, m["mode"], n, field)
		            for k in ("median", "min", "max"):
		                assert isinstance(f[k], (int, float)) and f[k] > 0, f
		print("%d figures, %d records, %d runs" % (len(s["figures"]), len(s["records"]), len(s["runs"])))
	EOF
}
check "the JSON summary has its keys and a positive figure per configuration" summary

# summary_verdict: the verdict's policy is one of benchlog.py's, and it
# has a 2:1 ratio per timing model, each positive and in the last line.
summary_verdict() {
	local json ratios r
	json=$(summary_json)
	[ -s "$json" ] || { echo "summary: ${json:-none}"; return 1; }
	ratios=$(python3 - "$json" "$REPO_DIR/scripts/read" <<-'EOF'
		import json, sys
		sys.dont_write_bytecode = True
		sys.path.insert(0, sys.argv[2])
		import benchlog
		s = json.load(open(sys.argv[1]))
		v = s["verdict"]
		assert v["policy"] in benchlog.POLICIES, v
		for p in s["phases"]:
		    r = float(v["speedup_2to1"][p["phase"]])
		    assert r > 0, v
		    print("%.1fx (%s)" % (r, p["phase"]))
	EOF
	)
	echo "ratios: $ratios"
	[ -n "$ratios" ] || return 1
	while read -r r; do
		tail -n 1 "$OUT" | grep -qF "$r" || return 1
	done <<<"$ratios"
}
check "the summary's verdict: a known policy, a positive 2:1 ratio per timing model, the last line's" summary_verdict

verdict() {
	grep -E '^window policy for count-only mode: .* is better:$' "$OUT" &&
		grep -E '^  hand-off 2:1: fixed [0-9]+, growing [0-9]+ cycles' "$OUT" &&
		grep -E '^  100 ms busy-wait: fixed [0-9]+, growing [0-9]+ PAUSE exits/s' "$OUT"
}
check "the window policy verdict is printed with its figures" verdict

plot_made() {
	local svg
	svg=$(sed -n 's/.*plot: \([^;]*\.svg\);.*/\1/p' "$OUT")
	echo "plot: ${svg:-none}"
	[ -s "$svg" ] && grep -q '<svg' "$svg"
}
check "the plot is written where the output says" plot_made

last_line() {
	tail -n 1 "$OUT"
	tail -n 1 "$OUT" | grep -qE "$LAST_RE"
}
check "the last line is 'overcommit 2:1 hand-off, faster with filtering: <ratio>x (<timing model>), ...'" last_line

diag "$(cat "$OUT" 2>/dev/null || true)"
done_testing
