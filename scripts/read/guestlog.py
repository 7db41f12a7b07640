#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""guestlog.py: the one reader of the guests' serial logs.

Every script and check that wants something from a guest's serial log asks
this module: what run_kselftest.sh said of each test, the figure lines the
tests printed, the guest's PLE-DONE status (config/init.sh), and the
kernel's complaints.  Nothing else in scripts/ or ci/ parses a log.

Why Python, not awk: the records nest (log > test > subtests, figures,
assertion message, complaints) and are tested whole against saved logs, as
the kernel's kunit_parser.py reads KTAP; the serial fixes (drain messages
mid-line, CRs, a cut last line) are made once, on bytes.  python3 is there.

What a log looks like (every line ends in CRLF on the serial console):

  PLE-CMDLINE: console=ttyS0,115200 ...         config/init.sh
  PLE-PARAMS: kvm_amd.pause_filter_count=3000   config/init.sh
  TAP version 13                                run_kselftest.sh
  1..2
  # timeout set to 120
  # selftests: kvm: svm_pause_filter_test        a test starts
  # TAP version 13                              its own output, behind "# "
  # 1..4
  # # PLE: kvm_amd: base 3000, grow 2, ...      a figure line (PLE/PROBE/BENCH)
  # ok 1 exit count                             a subtest
  # ok 2 # SKIP growth and cap: ...             a skipped subtest
  # ==== Test Assertion Failure ====            a failed TEST_ASSERT: location,
  #   x86/svm_pause_filter_test.c:388: ...       pid, stack (if addr2line runs),
  #   pid=83 tid=83 errno=0 - Success           then the message
  #   Expected 2 PAUSE exits ... (3 times)
  # 1..0 # SKIP - KVM lacks the ... stat        the whole test skips early
  ok 1 selftests: kvm: svm_pause_filter_test     its result (# SKIP, # XFAIL,
  not ok 2 selftests: kvm: foo # exit=254       # TIMEOUT N seconds, # exit=N)
  PLE-WARN: the kernel is tainted 512 (W: ...   config/init.sh, if a WARN fired,
  WARNING: arch/x86/kvm/svm/svm.c:3236 at ...   then the kernel's log at
  ...                                           warning and worse
  PLE-DONE rc=0                                 config/init.sh, at the end
  ple: serial drain 1                           the guest's UART restarts,
                                                possibly in the middle of a line

plus the kernel's own messages (with printk timestamps if configured), of
which WARN, BUG, Oops, UBSAN, panic, Call Trace and PLE-WARN lines are
complaints.
A log may be cut anywhere (a killed Bochs): the last line counts only if
it ends in a newline, a test with a header and no result line is "none".

Command line (TEST is COLLECTION:NAME or NAME, e.g. kvm:svm_pause_filter_test;
LOG is a serial log or a boot directory, scripts/guest/run-guest.sh --out,
whose serial.log is read):

  judge LOG                  a kept boot's verdict, without booting: how it
                             ended (the directory's status file), the
                             guest's status, then every test's result

  result LOG TEST            ok, fail, skip, xfail or none (not run, or cut)
  results LOG                every test of the log, one a line: its result
                             (the worst of its runs), a tab, COLLECTION:NAME
  tally LOG TEST             runs=N ok=N fail=N skip=N xfail=N none=N: the
                             results of TEST's runs (ple.repeat=N runs it N
                             times)
  tries LOG TEST             cases ok=N skip=N, tries=N: over every run of
                             TEST, the subtests that passed and skipped, and
                             the tries the passing ones took (their
                             descriptions end in "try N")
  lines LOG PREFIX [TEST]    the PREFIX figure lines (PLE, PROBE, BENCH), as
                             "PREFIX: ...", of TEST or of the whole log
  output LOG TEST            TEST's own output, without the runner's "# "
  subtests LOG TEST          one line per subtest of every run of TEST:
                             its result (ok, fail, skip, xfail), a tab,
                             its description (a skip: its reason)
  why LOG TEST               one line: why TEST failed or skipped (its
                             assertion message, else its first failed
                             subtest; skip reason, TIMEOUT...), or why it
                             has no result
  complaints [--fatal] LOG   the kernel's complaint lines; --fatal: only
                             panic, BUG and Oops (what the watchdog stops the emulator on)
  complaints --known LOG     instead, the complaints of KNOWN_WARNS (which the
                             others leave out), each with why it is known
  status LOG                 the guest's status: rc=N (its PLE-DONE line),
                             panic or none; exit status 0 for rc=N only
  pattern NAME...            the regex of lines, an ERE for grep -E, one per
                             NAME: fatal, complaint (as above), drain (the
                             guest's drain message), done (its PLE-DONE)
                             (scripts/guest/watchdog.sh greps the live log with them)
  unsplice LOG               rewrite LOG without the drain messages, as the
                             guest wrote it (the watchdog, once the emulator is stopped)
  report [--no-subtests] LOG...
                             one row per test, one column per log (what
                             scripts/report.sh prints)
  json LOG                   every record, for ci/05-guestlog.t and humans

Exit status: 0, or 1 for status without PLE-DONE, 2 for bad usage or an
unreadable log.  The shell calls it through guests.sh's guestlog(),
report.sh and the boot scripts' watchdog.
"""

import argparse
import json
import os
import re
import sys
from dataclasses import asdict, dataclass, field
from typing import List, Optional

# The figure lines tests print with ksft_print_msg(): the PAUSE selftest's
# "PLE:", the calibration probe's "PROBE:", the benchmark's "BENCH:".
FIGURE_PREFIXES = ("PLE", "PROBE", "BENCH")

# Kernel complaints.  Not anchored: a console message can land in the
# middle of a line of test output (the tty's queued output is interrupted
# by the console, as the drain messages and KVM's show).  Written so that the same
# text is a Python regex and a POSIX ERE (scripts/guest/watchdog.sh greps the live log).
# A WARN()'s first line is "WARNING: FILE:LINE at SYMBOL, CPU#N: COMM/PID" in
# our base's kernel/panic.c, "WARNING: CPU: N PID: N at ..." in kernels
# before __warn()'s 2025 rework; both are complaints.  Under "quiet" a WARN
# reaches the serial log only through config/init.sh's PLE-WARN, after the
# tests: that line is a complaint too, whatever the log it prints shows.
# An exception before the kernel's handlers are up (early_fixup_exception())
# prints "PANIC: early exception" and halts for good: fatal too.
FATAL_RE = "Kernel panic - not syncing|kernel BUG at|BUG: |Oops: |PANIC: early exception "
WARN_RE = "WARNING: CPU: |WARNING: .*, CPU#"
COMPLAINT_RE = FATAL_RE + "|" + WARN_RE + "|UBSAN: |Call Trace:|PLE-WARN: "
_FATAL = re.compile(FATAL_RE)
_WARN = re.compile(WARN_RE)
_COMPLAINT = re.compile(COMPLAINT_RE)
_PLE_WARN = re.compile("PLE-WARN: ")
_END_TRACE = re.compile(r"---\[ end trace ")

# WARNs of the emulated host that are not the series' and not understood,
# known by the message line a WARN prints before its banner: (that line,
# the emulators of config/machines it is known on, why it does not fail a
# check).  Such a WARN, its report up to "---[ end trace", and PLE-WARN
# when it is the only WARN, are complaints marked known: the checks print
# them and pass.  Anywhere else (another emulator, hardware, a bare log
# with no boot directory to say where it ran) the same WARN counts.
KNOWN_WARNS = [
    (re.compile(r"Bad FPU state detected at os_xrstor"), ("bochs-2.7",),
     "Bochs 2.7: XRSTOR found the reserved bytes of a task's XSAVE header "
     "non-zero and faulted; cause not found (README, Bochs deviations from "
     "the hardware, 4)"),
]

# config/init.sh's drain message (a console message: optional printk
# timestamp), taken out wherever it lands, with its line end; and its last
# line.  DRAIN_RE and DONE_RE are EREs too (scripts/guest/watchdog.sh).
DRAIN_RE = "ple: serial drain [0-9]+"
DONE_RE = "^PLE-DONE rc=[0-9]+"
_DRAIN = re.compile(rb"(\[ *[0-9]+\.[0-9]+\] )?" + DRAIN_RE.encode() + rb"\r*\n")
_DONE = re.compile(DONE_RE.replace("[0-9]+", "([0-9]+)") + "$")
# KVM's rate-limited console messages about the guest (vcpu_unimpl(): an
# MSR it does not handle, ...): printed at KERN_ERR, so at any loglevel,
# and often in the middle of another test's output; taken out
# with their line end, like the drain messages, when a log is read.
_KVM_MSG = re.compile(rb"(\[ *[0-9]+\.[0-9]+\] )?kvm \[[0-9]+\]: vcpu[0-9]+, guest rIP: "
                      rb"0x[0-9a-f]+ [^\r\n]*\r*\n")
_HEADER = re.compile(r"^# selftests: (\S+): (\S+)$")
_RESULT = re.compile(r"^(not ok|ok) ([0-9]+) selftests: (\S+): (\S+)(?: +# *(.*))?$")
_SUBTEST = re.compile(r"^(not ok|ok) ([0-9]+)(?: (.*))?$")
_PLAN_SKIP = re.compile(r"^1\.\.0 +# *SKIP *(.*)$")
_FIGURE = re.compile(r"^(?:# )*((?:%s): .*)$" % "|".join(FIGURE_PREFIXES))
_ASSERT_HEADER = "==== Test Assertion Failure ===="
_STACK = re.compile(r"^ *[0-9]+\t|^ *\(stack trace empty\)$")
_MESSAGE = re.compile(r"^(Expected|Unable)\b")

# How bad a result is, for a test run more than once (ple.repeat=N).
_SEVERITY = {"ok": 0, "xfail": 1, "skip": 2, "none": 3, "fail": 4}


@dataclass
class Subtest:
    number: int
    desc: str
    result: str  # ok, fail, skip, xfail
    reason: str = ""  # what follows "# SKIP", "# XFAIL", "# error"


@dataclass
class Test:
    collection: str
    name: str
    result: str = "none"  # ok, fail, skip, xfail, none
    directive: str = ""  # of the runner's line: "SKIP", "exit=254", ...
    subtests: List[Subtest] = field(default_factory=list)
    figures: List[str] = field(default_factory=list)  # "PLE: ...", ...
    failure: List[str] = field(default_factory=list)  # assertion message
    skip_reason: str = ""  # of "1..0 # SKIP", else of the last skipped subtest
    complaints: List[str] = field(default_factory=list)
    output: List[str] = field(default_factory=list)

    @property
    def key(self):
        return "%s:%s" % (self.collection, self.name)


@dataclass
class Complaint:
    line: str
    fatal: bool
    test: Optional[str] = None  # the test running when it came
    known: Optional[str] = None  # why it does not count (KNOWN_WARNS)


@dataclass
class GuestLog:
    path: str
    tests: List[Test] = field(default_factory=list)
    done: Optional[int] = None  # PLE-DONE rc
    cmdline: Optional[str] = None
    params: dict = field(default_factory=dict)
    complaints: List[Complaint] = field(default_factory=list)
    figures: List[str] = field(default_factory=list)  # outside any test
    drains: int = 0  # drain messages taken out
    cut: str = ""  # a last line without its newline (a cut log)
    first_line: str = ""

    @property
    def panic(self):
        return any(c.fatal for c in self.complaints)

    @property
    def status(self):
        """rc=N (PLE-DONE), panic or none."""
        if self.done is not None:
            return "rc=%d" % self.done
        return "panic" if self.panic else "none"

    def find(self, test):
        """The runs of TEST (COLLECTION:NAME, COLLECTION:DIR/NAME or NAME)."""
        coll, _, name = test.rpartition(":")
        name = name.rsplit("/", 1)[-1]
        return [t for t in self.tests
                if t.name == name and (not coll or t.collection == coll)]

    def result(self, test):
        runs = self.find(test)
        if not runs:
            return "none"
        return max((t.result for t in runs), key=_SEVERITY.__getitem__)


def _clean(data):
    """Bytes of a serial log to its lines (the last one maybe cut)."""
    data, drains = _DRAIN.subn(b"", data)
    data = _KVM_MSG.sub(b"", data)
    text = data.decode("utf-8", errors="replace").replace("\r", "")
    lines = text.split("\n")
    cut = lines.pop()  # "" when the log ends with a newline
    return lines, cut, drains


def _assertion(block):
    """The message of an assertion block (the lines after its header)."""
    indented = [ln.strip() for ln in block if ln.startswith("  ")]
    message = [ln for ln in indented[2:] if not _STACK.match("  " + ln)
               and ln != "(stack trace empty)"]
    return message or indented[:1]


class _Parser:
    def __init__(self, path, emulator=None):
        self.log = GuestLog(path)
        self.cur = None  # the Test whose output comes
        self.block = None  # lines of an assertion block, while in one
        self.known = [(m, why) for m, emus, why in KNOWN_WARNS if emulator in emus]
        self.prev = ""  # the line before
        self.in_known = None  # why, while in the report of a known WARN

    def parse(self, lines, cut, drains):
        log = self.log
        log.drains, log.cut = drains, cut
        log.first_line = next((ln for ln in lines + [cut] if ln.strip()), "")
        for line in lines:
            self.line(line)
            self.prev = line
        self.end_test()
        if cut and _COMPLAINT.search(cut):
            self.complaint(cut)
        self.explain_ple_warn()
        return log

    def complaint(self, line):
        name = self.cur.key if self.cur else None
        if _WARN.search(line):
            self.in_known = next((why for m, why in self.known if m.search(self.prev)), None)
        known = None if _FATAL.search(line) else self.in_known
        self.log.complaints.append(
            Complaint(line, bool(_FATAL.search(line)), name, known))
        if self.cur and not known:
            self.cur.complaints.append(line)

    def explain_ple_warn(self):
        """PLE-WARN is known when every WARN of the log is."""
        warns = [c for c in self.log.complaints if _WARN.search(c.line)]
        if warns and all(c.known for c in warns):
            for c in self.log.complaints:
                if _PLE_WARN.search(c.line):
                    c.known = warns[0].known

    def end_test(self):
        self.end_assertion()
        self.cur = None

    def end_assertion(self):
        if self.block is not None and self.cur:
            self.cur.failure += _assertion(self.block)
        self.block = None

    def line(self, line):
        log = self.log
        if _COMPLAINT.search(line):
            self.complaint(line)
        elif _END_TRACE.search(line):
            self.in_known = None
        m = _DONE.match(line)
        if m:
            self.end_test()
            log.done = int(m.group(1))
            return
        if line.startswith("PLE-CMDLINE: "):
            log.cmdline = line[len("PLE-CMDLINE: "):]
            return
        if line.startswith("PLE-PARAMS: "):
            k, _, v = line[len("PLE-PARAMS: "):].partition("=")
            log.params[k] = v
            return
        m = _HEADER.match(line)
        if m:
            self.end_test()
            self.cur = Test(m.group(1), m.group(2))
            log.tests.append(self.cur)
            return
        m = _RESULT.match(line)
        if m:
            self.result(m)
            return
        if line == "#" or line.startswith("# "):
            self.output(line[2:])

    def result(self, m):
        coll, name = m.group(3), m.group(4)
        if not (self.cur and self.cur.key == "%s:%s" % (coll, name)):
            self.end_test()
            self.cur = Test(coll, name)
            self.log.tests.append(self.cur)
        t, directive = self.cur, (m.group(5) or "").strip()
        t.directive = directive
        if m.group(1) == "not ok":
            t.result = "fail"
        elif directive.upper().startswith("SKIP"):
            t.result = "skip"
        elif directive.upper().startswith("XFAIL"):
            t.result = "xfail"
        else:
            t.result = "ok"
        self.end_test()

    def output(self, out):
        """A line of the current test's output (or the runner's own)."""
        fig = _FIGURE.match(out)
        t = self.cur
        if t is None:
            if fig:
                self.log.figures.append(fig.group(1))
            return
        t.output.append(out)
        if self.block is not None:
            if out.startswith("  ") or not (out.startswith(("ok ", "not ok ", "1..", "# "))
                                            or out == _ASSERT_HEADER):
                self.block.append(out)
                return
            self.end_assertion()
        if out == _ASSERT_HEADER:
            self.block = []
            return
        if fig:
            t.figures.append(fig.group(1))
            return
        m = _PLAN_SKIP.match(out)
        if m:
            t.skip_reason = re.sub(r"^- *", "", m.group(1)).strip()
            return
        m = _SUBTEST.match(out)
        if m:
            self.subtest(t, m)
            return
        if out.startswith("Bail out!"):
            t.failure.append(out[len("Bail out!"):].strip())
        elif _MESSAGE.match(out.strip()):
            t.failure.append(out.strip())

    @staticmethod
    def subtest(t, m):
        rest = m.group(3) or ""
        desc, _, directive = rest.partition("#")
        desc, directive = desc.strip(), directive.strip()
        word, _, reason = directive.partition(" ")
        word = word.upper()
        if m.group(1) == "not ok":
            result = "fail"
        elif word == "SKIP":
            result = "skip"
        elif word == "XFAIL":
            result = "xfail"
        else:
            result = "ok"
        if word not in ("SKIP", "XFAIL", "ERROR", "TODO"):
            reason = directive
        t.subtests.append(Subtest(int(m.group(2)), desc, result, reason.strip()))
        if result == "skip" and reason:
            t.skip_reason = reason.strip()


def parse_bytes(data, path="-", emulator=None):
    """The records of a serial log given as bytes; EMULATOR (a boot
    directory's) decides which complaints are KNOWN_WARNS."""
    return _Parser(path, emulator).parse(*_clean(data))


# A boot directory (scripts/guest/run-guest.sh --out): its files.
SERIAL_LOG = "serial.log"
# Names of the status file's codes (scripts/guest/watchdog.sh's EXIT_*).
BOOT_STATUS = {0: "finished", 1: "setup error", 2: "no PLE-DONE",
               3: "timeout", 4: "panic", 5: "emulator missing or unavailable"}


def log_path(path):
    """The serial log of PATH: a boot directory's, or PATH itself."""
    return os.path.join(path, SERIAL_LOG) if os.path.isdir(path) else path


def parse(path):
    """The records of the serial log at PATH (a log or a boot directory).
    A boot directory without one is a boot that never started its guest:
    the error says what its run.out says last."""
    log = log_path(path)
    if log != path and not os.path.exists(log):
        raise FileNotFoundError("%s: no %s, the guest never ran: %s" % (
            path, SERIAL_LOG, _last_line(os.path.join(path, "run.out"))))
    with open(log, "rb") as f:
        return parse_bytes(f.read(), path, boot_meta(path).get("emulator"))


def _last_line(path):
    """The last line of the file at PATH, or what is wrong with it."""
    try:
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError as e:
        return "(%s)" % e
    return ("%s: %s" % (path, lines[-1])) if lines else "(%s is empty)" % path


def boot_meta(path):
    """A boot directory's meta file, as a dict ({} for a bare log)."""
    meta = {}
    if os.path.isdir(path):
        with open(os.path.join(path, "meta")) as f:
            for line in f:
                key, _, value = line.rstrip("\n").partition("=")
                meta[key] = value
    return meta


def judge(path, out=sys.stdout):
    """The verdict of a kept boot, from its files alone: how the boot
    ended (its status file; a bare log has none), the guest's PLE-DONE
    status, then every test's result, one a line."""
    log = parse(path)
    if os.path.isdir(path):
        try:
            with open(os.path.join(path, "status")) as f:
                code = int(f.read().strip() or "1")
        except (OSError, ValueError):
            code = None
        ended = ("boot: not ended (no status)" if code is None else
                 "boot: %s (status %d)" % (BOOT_STATUS.get(code, "failed"), code))
        print(ended, file=out)
    print("guest: %s" % log.status, file=out)
    for key in dict.fromkeys(t.key for t in log.tests):
        print("%s\t%s" % (log.result(key), key), file=out)


def why(log, test):
    """One line: why TEST failed or skipped, or has no result."""
    runs = log.find(test)
    if runs:
        t = max(runs, key=lambda r: _SEVERITY[r.result])
        if t.result == "fail":
            failed = [st.desc for st in t.subtests if st.result == "fail"]
            return (t.failure[:1] or failed[:1] or
                    [t.directive or "failed, with no message"])[0]
        if t.result == "skip":
            return t.skip_reason or "skipped, with no reason"
        if t.result == "xfail":
            return t.directive
        if t.result == "ok":
            return ""
        fatal = [c.line for c in log.complaints if c.fatal and c.test == t.key]
        if fatal:
            return "no result: " + fatal[0]
        return "no result: the log ends while it runs"
    fatal = [c.line for c in log.complaints if c.fatal]
    if fatal:
        return "not run: " + fatal[0]
    if log.tests or log.done is not None:
        return "not run: not in the log"
    return "not run: no kselftest output (the log begins: %s)" % log.first_line


def report(paths, subtests=True, out=sys.stdout):
    """One row per test, one column per log (label: its basename without
    .log): ok, FAIL, skip, xfail, "cut" (started, no result) or "-"; the
    subtests indented below; the guests' PLE-DONE status; then per log the
    figure lines, the failures' messages and the kernel complaints."""
    logs = [parse(p) for p in paths]
    labels = [boot_meta(p).get("variant") or
              re.sub(r"\.log$", "", os.path.basename(os.path.normpath(p)))
              for p in paths]
    shown = {"ok": "ok", "fail": "FAIL", "skip": "skip", "xfail": "xfail",
             "none": "cut"}
    order, res, subs = [], {}, {}
    for col, log in enumerate(logs):
        for t in log.tests:
            if t.key not in subs:
                order.append(t.key)
                subs[t.key] = []
            old = res.get((t.key, col))
            if old is None or _SEVERITY[t.result] > _SEVERITY[old]:
                res[(t.key, col)] = t.result
            for s in t.subtests:
                label = s.desc or s.reason
                if label not in subs[t.key]:
                    subs[t.key].append(label)
                res[(t.key, label, col)] = s.result
    rows = []
    for key in order:
        rows.append((key, [shown[res[(key, c)]] if (key, c) in res else "-"
                           for c in range(len(logs))]))
        if subtests:
            for label in subs[key]:
                rows.append(("  " + label,
                             [shown[res[(key, label, c)]] if (key, label, c) in res
                              else "-" for c in range(len(logs))]))
    rows.append(("(guest PLE-DONE)", [log.status for log in logs]))
    width = max([16] + [len(r[0]) for r in rows])

    def emit(label, cells):
        line = "%-*s" % (width, label) + "".join("  %-10s" % c for c in cells)
        print(line.rstrip(), file=out)

    emit("test", labels)
    for label, cells in rows:
        emit(label, cells)
    for label, log in zip(labels, logs):
        figs = ["  (no test): %s" % f for f in log.figures]
        figs += ["  %s: %s" % (t.key, f) for t in log.tests for f in t.figures]
        if figs:
            print("\n# figure lines of %s:" % label, file=out)
            print("\n".join(figs), file=out)
        fails = ["  %s: %s" % (t.key, why(log, t.key))
                 for t in log.tests if t.result in ("fail", "none")]
        if fails:
            print("\n# why tests failed or have no result in %s:" % label, file=out)
            print("\n".join(fails), file=out)
        if log.complaints:
            print("\n# kernel complaints in %s:" % label, file=out)
            print("\n".join("  " + _shown(c) for c in log.complaints), file=out)


def _shown(c):
    """A complaint's line, and why it does not count if it is known."""
    return c.line + ("  [known: %s]" % c.known if c.known else "")


def to_json(log):
    d = asdict(log)
    d["path"] = os.path.basename(log.path)
    d["status"] = log.status
    return json.dumps(d, indent=1, sort_keys=True)


_PATTERNS = {"fatal": FATAL_RE, "complaint": COMPLAINT_RE, "drain": DRAIN_RE, "done": DONE_RE}


def unsplice(path):
    """Rewrite the log at path without the drain messages."""
    path = log_path(path)
    with open(path, "rb") as f:
        data = f.read()
    data, n = _DRAIN.subn(b"", data)
    if n:
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.replace(path + ".tmp", path)


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="guestlog.py", description="Read a guest's serial log "
        "(see the module's docstring for the log format).")
    sub = ap.add_subparsers(dest="cmd", required=True)
    # The commands that take LOG TEST.
    for cmd, text in (("result", "ok, fail, skip, xfail or none"),
                      ("tally", "how many runs of a test gave each result"),
                      ("tries", "a test's cases that passed and skipped, and their tries"),
                      ("output", "a test's own output"),
                      ("subtests", "a test's subtests: result, tab, description"),
                      ("why", "why a test failed, skipped or has no result")):
        p = sub.add_parser(cmd, help=text)
        p.add_argument("log")
        p.add_argument("test")
    p = sub.add_parser("lines", help="figure lines (%s)" % ", ".join(FIGURE_PREFIXES))
    p.add_argument("log")
    p.add_argument("prefix", choices=FIGURE_PREFIXES)
    p.add_argument("test", nargs="?")
    p = sub.add_parser("complaints", help="the kernel's complaint lines")
    p.add_argument("--fatal", action="store_true", help="panic, BUG, Oops only")
    p.add_argument("--known", action="store_true", help="the known ones instead, with why")
    p.add_argument("log")
    p = sub.add_parser("results", help="every test: result, tab, test")
    p.add_argument("log")
    p = sub.add_parser("status", help="rc=N (PLE-DONE), panic or none")
    p.add_argument("log")
    p = sub.add_parser("pattern", help="EREs of lines, one per line")
    p.add_argument("which", nargs="+", choices=sorted(_PATTERNS))
    p = sub.add_parser("unsplice", help="take the drain messages out of LOG")
    p.add_argument("log")
    p = sub.add_parser("report", help="the per-test table of scripts/report.sh")
    p.add_argument("--no-subtests", action="store_true")
    p.add_argument("logs", nargs="+", metavar="log")
    p = sub.add_parser("json", help="every record")
    p.add_argument("log")
    p = sub.add_parser("judge", help="a kept boot's verdict: status, guest, results")
    p.add_argument("log")
    a = ap.parse_args(argv)

    if a.cmd == "pattern":
        for w in a.which:
            print(_PATTERNS[w])
        return 0
    try:
        if a.cmd == "unsplice":
            unsplice(a.log)
            return 0
        if a.cmd == "report":
            report(a.logs, subtests=not a.no_subtests)
            return 0
        if a.cmd == "judge":
            judge(a.log)
            return 0
        log = parse(a.log)
    except BrokenPipeError:  # report and judge print as they read: cli()
        raise
    except OSError as e:
        print("guestlog.py: error: %s" % e, file=sys.stderr)
        return 2
    if a.cmd == "result":
        print(log.result(a.test))
    elif a.cmd == "results":
        for key in dict.fromkeys(t.key for t in log.tests):
            print("%s\t%s" % (log.result(key), key))
    elif a.cmd == "tries":
        cases = [st for t in log.find(a.test) for st in t.subtests]
        tries = [re.search(r"\btry (\d+)$", st.desc or "") for st in cases
                 if st.result == "ok"]
        print("cases ok=%d skip=%d, tries=%d" % (
            sum(st.result == "ok" for st in cases),
            sum(st.result == "skip" for st in cases),
            sum(int(m.group(1)) for m in tries if m)))
    elif a.cmd == "tally":
        runs = [t.result for t in log.find(a.test)]
        print("runs=%d " % len(runs) + " ".join(
            "%s=%d" % (r, runs.count(r)) for r in ("ok", "fail", "skip", "xfail", "none")))
    elif a.cmd == "lines":
        runs = log.find(a.test) if a.test else log.tests
        figs = [] if a.test else list(log.figures)
        figs += [f for t in runs for f in t.figures]
        for f in figs:
            if f.startswith(a.prefix + ": "):
                print(f)
    elif a.cmd == "output":
        for t in log.find(a.test):
            for line in t.output:
                print(line)
    elif a.cmd == "subtests":
        for t in log.find(a.test):
            for st in t.subtests:
                print("%s\t%s" % (st.result, st.desc or st.reason))
    elif a.cmd == "why":
        w = why(log, a.test)
        if w:
            print(w)
    elif a.cmd == "complaints":
        for c in log.complaints:
            if a.known:
                if c.known:
                    print(_shown(c))
            elif not c.known and (c.fatal or not a.fatal):
                print(c.line)
    elif a.cmd == "status":
        print(log.status)
        return 0 if log.done is not None else 1
    elif a.cmd == "json":
        print(to_json(log))
    return 0


def cli(entry):
    """Run a reader's main() as a command: its return value is the exit
    status, and a reader piped into head exits 0, silently.  The output is
    flushed here, not at exit, where a closed pipe would be "Exception
    ignored" and exit 120; after one, standard output goes to /dev/null
    for the exit's own flush."""
    try:
        rc = entry()
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        rc = 0
    sys.exit(rc)


if __name__ == "__main__":
    cli(main)
