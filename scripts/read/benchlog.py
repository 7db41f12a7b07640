#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""benchlog.py: make bench's analysis, from the guests' serial logs.

scripts/bench.sh boots the guests that run probes/ple_bench.c; this reads
their "BENCH:" figure lines (through guestlog.py, the one reader of serial
logs) and judges them: the bench records, their medians and ranges over
the tick phases, the tables, the window policy verdict, the plot data and
the last line.  The modes, their labels and the fields of a record are
defined here and nowhere else.

What the probe prints (one line each, ksft_print_msg, so "# BENCH: ..."):

  BENCH: info: policy=growing pause_filter_count=3000 ... nobase=0
  BENCH: handoff: mode=growing vcpus=2 handoffs=N ... cyc_median=N ...
  BENCH: wait: mode=growing ms=100 passes=N ... lost_pct=F ...

Command line:

  summarize --json FILE --run CPU PHASE IPS BOOT LOG [--run ...]
        read the logs of the runs (a run: one boot of one machine in one
        tick phase, IPS its Bochs ips), check that every record is there
        and well formed, and write the JSON summary: the runs, every
        record, the figures (median, min, max over the phases), the
        verdict and the 2:1 speed-up.  A missing record, a malformed line
        or a missing log: a message on stderr, exit 1, no FILE written.
  tables SUMMARY        the hand-off, busy-wait and per-phase tables
  plotdata SUMMARY      gnuplot's data: per mode, its label, then
                        median min max of cycles/hand-off at 2:1 and 4:1
  verdict SUMMARY       which window policy count-only mode should use
  speedup SUMMARY       the last line of make bench, a ratio per timing
                        model (phase) of the count-only machine:
                        overcommit 2:1 hand-off, faster with filtering:
                        <ratio>x (<phase>)[, <ratio>x (<phase>)...]

Exit status: 0, 1 for bad or missing bench data, 2 for bad usage.
"""

import argparse
import json
import os
import re
import sys

sys.dont_write_bytecode = True  # nothing is written into scripts/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guestlog  # noqa: E402  (the one reader of serial logs)

BENCH_TEST = "kvm:ple_bench"

# The modes as ple_bench prints them (mode=...), in table order, with
# their labels in the tables (the plot's: the label up to " (").
MODES = (
    ("nofilter", "no filtering (v7.3-rc7)"),
    ("fixed", "fixed window (3000)"),
    ("growing", "growing window (default)"),
)
# The hand-offs measured (vCPUs on the one CPU) and the busy-waits (ms).
HANDOFF_VCPUS = (2, 4)
WAIT_MS = (1, 10, 100)

# The fields of each kind of record, as ple_bench prints them; all are
# numbers but mode and policy.  The first after mode (vcpus, ms) is the
# record's key with its mode.
RECORD_FIELDS = {
    "info": ("policy", "pause_filter_count", "grow", "shrink", "max", "thresh",
             "pfthreshold", "tsc_khz", "cs_iters", "span_ms", "short", "nobase"),
    "handoff": ("mode", "vcpus", "handoffs", "acquisitions", "stamped",
                "span_cycles", "cyc_median", "cyc_p10", "cyc_p90", "cyc_min",
                "cyc_max", "cyc_mean", "per_sec", "pause_exits", "exits",
                "irq_exits", "yields", "yields_ok", "preempted"),
    "wait": ("mode", "ms", "passes", "tsc", "pause_exits", "exits", "irq_exits",
             "pause_exits_per_sec", "lost_pct", "cyc_per_pause_exit"),
}
_WORDS = ("mode", "policy")
_KEY = {"handoff": "vcpus", "wait": "ms"}


def _ratio(a, b):
    return a / b if b else 0


# The figures summarized over the phases, per kind: name, and how a
# record (with its run's ips) gives it.
FIGURES = {
    "handoff": (
        ("cyc_median", lambda r, ips: r["cyc_median"]),
        ("cyc_p10", lambda r, ips: r["cyc_p10"]),
        ("cyc_p90", lambda r, ips: r["cyc_p90"]),
        ("cyc_mean", lambda r, ips: r["cyc_mean"]),
        ("us_median", lambda r, ips: r["cyc_median"] * 1e6 / ips),
        ("per_sec", lambda r, ips: r["per_sec"]),
        ("pause_exits_per_sec", lambda r, ips: _ratio(r["pause_exits"] * ips, r["span_cycles"])),
        ("yields_ok_per_handoff", lambda r, ips: _ratio(r["yields_ok"], r["handoffs"])),
    ),
    "wait": (
        ("pause_exits", lambda r, ips: r["pause_exits"]),
        ("pause_exits_per_sec", lambda r, ips: r["pause_exits_per_sec"]),
        ("lost_pct", lambda r, ips: r["lost_pct"]),
        ("cyc_per_pause_exit", lambda r, ips: r["cyc_per_pause_exit"]),
    ),
}

CPU_TITLES = {
    "count-only": "count-only machine (AMD fam. 10h/12h/14h: PauseFilter, no PFThreshold)",
}
VERDICT_CPU = "count-only"
# Within 10% on the hand-off is a tie there; the busy-wait decides.
TIE = 1.1
POLICIES = {
    "growing": "growing window (the default)",
    "fixed": "fixed window (pause_filter_count_grow=0)",
    "neither": "neither outright (a trade-off)",
}


class BenchError(Exception):
    """Bench data that cannot be summarized: missing or malformed."""


def _number(text):
    if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text):
        raise ValueError(text)
    return float(text) if "." in text else int(text)


def parse_line(line):
    """A "BENCH: KIND: k=v ..." line to (KIND, fields); BenchError if bad."""
    m = re.fullmatch(r"BENCH: (\w+): (.*)", line)
    if not m or m.group(1) not in RECORD_FIELDS:
        raise BenchError("not a bench record (info, handoff or wait): %r" % line)
    kind, rec = m.group(1), {}
    for tok in m.group(2).split():
        k, eq, v = tok.partition("=")
        if not eq or not k:
            raise BenchError("malformed %r (not key=value) in %r" % (tok, line))
        rec[k] = v
    missing = [f for f in RECORD_FIELDS[kind] if f not in rec]
    if missing:
        raise BenchError("%s record without %s: %r" % (kind, ", ".join(missing), line))
    for f in RECORD_FIELDS[kind]:
        if f in _WORDS:
            continue
        try:
            rec[f] = _number(rec[f])
        except ValueError:
            raise BenchError("%s=%r is not a number in %r" % (f, rec[f], line)) from None
    if kind != "info" and rec["mode"] not in dict(MODES):
        raise BenchError("unknown mode %r (not %s) in %r"
                         % (rec["mode"], ", ".join(dict(MODES)), line))
    return kind, {f: rec[f] for f in RECORD_FIELDS[kind]}


def read_run(cpu, phase, ips, boot, path):
    """The records of one run's log, each with the run's attributes."""
    try:
        log = guestlog.parse(path)
    except OSError as e:
        raise BenchError("%s: %s" % (path, e.strerror)) from None
    lines = [f for t in log.find(BENCH_TEST) for f in t.figures if f.startswith("BENCH: ")]
    run = {"cpu": cpu, "phase": phase, "ips": ips, "boot": boot,
           "log": os.path.basename(path)}
    records = []
    for line in lines:
        try:
            kind, fields = parse_line(line)
        except BenchError as e:
            raise BenchError("%s: %s" % (path, e)) from None
        records.append(dict(run, kind=kind, **fields))
    infos = [r for r in records if r["kind"] == "info"]
    if len(infos) != 1:
        raise BenchError("%s: %d info records, not 1 (%s: %s)"
                         % (path, len(infos), BENCH_TEST, log.result(BENCH_TEST)))
    return records


def _base(records, run):
    """Whether RUN's boot measured the base (no nobase flag): the
    nofilter figures come from those boots only (a nobase boot still
    runs the reference busy-waits, for its own lost_pct)."""
    return any(r["kind"] == "info" and r["nobase"] == 0 and
               (r["cpu"], r["phase"], r["boot"]) == run for r in records)


def _median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def expected(records):
    """Missing records: per machine and phase, every mode's hand-offs and
    busy-waits, the nofilter ones from a base boot."""
    missing = []
    seen = {(r["cpu"], r["phase"]) for r in records}
    have = {(r["cpu"], r["phase"], r["kind"], r["mode"], r[_KEY[r["kind"]]])
            for r in records if r["kind"] != "info" and
            (r["mode"] != "nofilter" or _base(records, (r["cpu"], r["phase"], r["boot"])))}
    for cpu, phase in sorted(seen):
        for mode, _ in MODES:
            for kind, ns in (("handoff", HANDOFF_VCPUS), ("wait", WAIT_MS)):
                for n in ns:
                    if (cpu, phase, kind, mode, n) not in have:
                        missing.append("no %s record mode=%s %s=%d (cpu=%s phase=%s%s)"
                                       % (kind, mode, _KEY[kind], n, cpu, phase,
                                          ", from a boot without nobase"
                                          if mode == "nofilter" else ""))
    return missing


def summarize(runs):
    """The JSON summary of RUNS ([cpu, phase, ips, boot, log] each)."""
    records = []
    for cpu, phase, ips, boot, path in runs:
        try:
            ips = int(ips)
        except ValueError:
            raise BenchError("ips %r of %s is not a number" % (ips, path)) from None
        records += read_run(cpu, phase, ips, boot, path)
    if not any(r["cpu"] == VERDICT_CPU for r in records):
        raise BenchError("no run on the %s machine, whose figures the verdict weighs" % VERDICT_CPU)
    missing = expected(records)
    if missing:
        raise BenchError("%d bench record(s) missing:\n  %s" % (len(missing), "\n  ".join(missing)))
    values = {}
    for r in records:
        if r["kind"] == "info" or (r["mode"] == "nofilter" and
                                   not _base(records, (r["cpu"], r["phase"], r["boot"]))):
            continue
        for name, fn in FIGURES[r["kind"]]:
            key = (r["kind"], r["cpu"], r["mode"], r[_KEY[r["kind"]]], name)
            values.setdefault(key, []).append(fn(r, r["ips"]))
    figures = [{"kind": k[0], "cpu": k[1], "mode": k[2], "n": k[3], "field": k[4],
                "median": _median(v), "min": min(v), "max": max(v)}
               for k, v in sorted(values.items())]
    phases = []
    for r in records:
        if [r["phase"], r["ips"]] not in phases:
            phases.append([r["phase"], r["ips"]])
    summary = {
        "cpus": sorted({r["cpu"] for r in records}),
        "phases": [{"phase": p, "ips": i} for p, i in phases],
        "modes": [{"mode": m, "label": label} for m, label in MODES],
        "runs": [{"cpu": c, "phase": p, "ips": int(i), "boot": b, "log": os.path.basename(f)}
                 for c, p, i, b, f in runs],
        "records": records,
        "figures": figures,
    }
    summary["verdict"] = verdict(summary)
    return summary


def fig(summary, kind, cpu, mode, n, field):
    """The figure's {median, min, max}, or None."""
    for f in summary["figures"]:
        if (f["kind"], f["cpu"], f["mode"], f["n"], f["field"]) == (kind, cpu, mode, n, field):
            return f
    return None


def med(summary, *key):
    f = fig(summary, *key)
    return f["median"] if f else None


def verdict(summary):
    """Which window policy count-only mode should use, with its figures."""
    cpu = VERDICT_CPU
    v = {"cpu": cpu}
    for mode in ("fixed", "growing"):
        for n in HANDOFF_VCPUS:
            v["%s_handoff_%d" % (mode, n)] = med(summary, "handoff", cpu, mode, n, "cyc_median")
        for field in ("pause_exits_per_sec", "lost_pct"):
            v["%s_wait_100_%s" % (mode, field)] = med(summary, "wait", cpu, mode, 100, field)
    f2, g2, f4, g4 = (v["fixed_handoff_2"], v["growing_handoff_2"],
                      v["fixed_handoff_4"], v["growing_handoff_4"])
    fx, gx = v["fixed_wait_100_pause_exits_per_sec"], v["growing_wait_100_pause_exits_per_sec"]
    if g2 <= TIE * f2 and g4 <= TIE * f4 and gx <= fx:
        v["policy"] = "growing"
    elif f2 <= TIE * g2 and f4 <= TIE * g4 and fx <= gx:
        v["policy"] = "fixed"
    else:
        v["policy"] = "neither"
    v["speedup_2to1"] = speedups(summary, cpu)
    return v


def speedups(summary, cpu):
    """Per phase (a timing model, a CPU), in the summary's order: the
    2:1 hand-off's median cycles without filtering over those with the
    growing window (the median over the phase's boots, if several)."""
    out = {}
    for ph in summary["phases"]:
        recs = [r for r in summary["records"] if r["kind"] == "handoff" and
                r["cpu"] == cpu and r["phase"] == ph["phase"] and r["vcpus"] == 2]
        base = [r["cyc_median"] for r in recs if r["mode"] == "nofilter" and
                _base(summary["records"], (r["cpu"], r["phase"], r["boot"]))]
        grow = [r["cyc_median"] for r in recs if r["mode"] == "growing"]
        if base and grow and _median(grow) > 0:
            out[ph["phase"]] = round(_ratio(_median(base), _median(grow)), 1)
    return out


def _range(summary, nphases, *key):
    f = fig(summary, *key)
    if f is None:
        return "-"
    if nphases == 1:
        return "%.0f" % f["median"]
    return "%.0f [%.0f-%.0f]" % (f["median"], f["min"], f["max"])


def _num(fmt, x):
    return "-" if x is None else fmt % x


def tables(summary):
    """The three tables of each machine, as lines."""
    out = []
    nph = len(summary["phases"])
    for cpu in summary["cpus"]:
        title = CPU_TITLES.get(cpu, cpu)
        out += ["Lock hand-off under overcommit, %s" % title,
                "ticket spinlock, waiters spin on PAUSE with IF=1, critical section 1000 loops;",
                "guest TSC cycles per hand-off: median of the run's hand-offs, "
                "then median [min-max] over the phases",
                "%-27s %-45s %s" % ("", "2 vCPUs / 1 CPU (2:1)", "4 vCPUs / 1 CPU (4:1)"),
                "%-27s %-25s %-19s %-25s %s" % ("configuration", "cycles/hand-off", "hand-offs/s",
                                                "cycles/hand-off", "hand-offs/s")]
        for mode, label in MODES:
            cells = [_range(summary, nph, "handoff", cpu, mode, n, field)
                     for n in HANDOFF_VCPUS for field in ("cyc_median", "per_sec")]
            out.append("%-27s %-25s %-19s %-25s %s" % (label, *cells))
        out += ["", "Legitimate busy-wait, %s" % title,
                "1 vCPU alone, PAUSE loop on the TSC with IF=1: PAUSE exits "
                "(per second, loop cycles lost),",
                "median over the phases",
                ("%-27s" + " %-26s" * len(WAIT_MS)) % ("configuration", *("%d ms" % ms for ms in WAIT_MS))]
        for mode, label in MODES:
            cells = ["%s (%s/s, %s%%)" % (
                _num("%.0f", med(summary, "wait", cpu, mode, ms, "pause_exits")),
                _num("%.0f", med(summary, "wait", cpu, mode, ms, "pause_exits_per_sec")),
                _num("%.2f", med(summary, "wait", cpu, mode, ms, "lost_pct"))) for ms in WAIT_MS]
            out.append(("%-27s" + " %-26s" * len(WAIT_MS)) % (label, *cells))
        out += [""] + table_phases(summary, cpu) + [""]
    return out


def table_phases(summary, cpu):
    """Per phase and mode: cycles per hand-off, median (p10-p90) of the
    run; the longest busy-wait's PAUSE exits."""
    out = ["Per phase (%s): cycles per hand-off, median (p10-p90) of the run; "
           "%d ms wait PAUSE exits" % (cpu, WAIT_MS[-1]),
           "%-22s %-10s %-26s %-26s %s" % ("phase (ips)", "mode",
                                           *("%d:1" % n for n in HANDOFF_VCPUS),
                                           "wait %d ms" % WAIT_MS[-1])]
    base = {(r["phase"], r["boot"]) for r in summary["records"]
            if r["kind"] == "info" and r["cpu"] == cpu and r["nobase"] == 0}
    for ph in summary["phases"]:
        for mode, _ in MODES:
            recs = [r for r in summary["records"] if r["cpu"] == cpu and
                    r["phase"] == ph["phase"] and r["kind"] != "info" and r["mode"] == mode
                    and (mode != "nofilter" or (r["phase"], r["boot"]) in base)]
            if not recs:
                continue
            h = {r["vcpus"]: "%d (%d-%d)" % (r["cyc_median"], r["cyc_p10"], r["cyc_p90"])
                 for r in recs if r["kind"] == "handoff"}
            w = [r["pause_exits"] for r in recs if r["kind"] == "wait" and r["ms"] == WAIT_MS[-1]]
            out.append("%-22s %-10s %-26s %-26s %s" % (
                "%s (%d)" % (ph["phase"], ph["ips"]), mode,
                *(h.get(n, "") for n in HANDOFF_VCPUS), w[-1] if w else ""))
    return out


def plotdata(summary):
    """Per mode: "LABEL" then median min max at 2:1, then at 4:1."""
    out = []
    cpu = VERDICT_CPU
    for mode, label in MODES:
        cells = []
        for n in HANDOFF_VCPUS:
            f = fig(summary, "handoff", cpu, mode, n, "cyc_median")
            cells += ["%.6g" % f[k] if f else "-" for k in ("median", "min", "max")]
        out.append('"%s" %s' % (label.split(" (")[0], " ".join(cells)))
    return out


def verdict_lines(summary):
    v = summary["verdict"]
    return ["window policy for count-only mode: %s is better:" % POLICIES[v["policy"]],
            "  hand-off 2:1: fixed %.0f, growing %.0f cycles; 4:1: fixed %.0f, growing %.0f cycles"
            % (v["fixed_handoff_2"], v["growing_handoff_2"],
               v["fixed_handoff_4"], v["growing_handoff_4"]),
            "  100 ms busy-wait: fixed %.0f, growing %.0f PAUSE exits/s "
            "(%.2f%% vs %.2f%% of its cycles lost)"
            % (v["fixed_wait_100_pause_exits_per_sec"], v["growing_wait_100_pause_exits_per_sec"],
               v["fixed_wait_100_lost_pct"], v["growing_wait_100_lost_pct"])]


def speedup_line(summary):
    ratios = summary["verdict"]["speedup_2to1"]
    return "overcommit 2:1 hand-off, faster with filtering: " + ", ".join(
        "%.1fx (%s)" % (ratios[p["phase"]], p["phase"])
        for p in summary["phases"] if p["phase"] in ratios)


def load(path):
    with open(path) as f:
        return json.load(f)


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="benchlog.py", description="make bench's analysis "
        "(see the module's docstring).")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("summarize", help="the logs' records to the JSON summary")
    p.add_argument("--json", required=True, metavar="FILE")
    p.add_argument("--run", action="append", nargs=5, required=True,
                   metavar=("CPU", "PHASE", "IPS", "BOOT", "LOG"))
    for cmd in ("tables", "plotdata", "verdict", "speedup"):
        p = sub.add_parser(cmd)
        p.add_argument("summary")
    a = ap.parse_args(argv)

    if a.cmd == "summarize":
        try:
            summary = summarize(a.run)
        except BenchError as e:
            print("benchlog.py: error: %s" % e, file=sys.stderr)
            return 1
        with open(a.json + ".tmp", "w") as f:
            json.dump(summary, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(a.json + ".tmp", a.json)
        return 0
    try:
        summary = load(a.summary)
    except (OSError, ValueError) as e:
        print("benchlog.py: error: %s: %s" % (a.summary, e), file=sys.stderr)
        return 1
    lines = {"tables": tables, "plotdata": plotdata, "verdict": verdict_lines,
             "speedup": lambda s: [speedup_line(s)]}[a.cmd](summary)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    guestlog.cli(main)
