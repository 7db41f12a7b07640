// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test KVM's PAUSE-loop exiting policy through the pause_exits vCPU stat:
 * a guest spins on PAUSE with interrupts disabled, and the host checks the
 * PAUSE exits against the window schedule of the vendor module's params
 * (grow on every PAUSE exit up to the max, shrink when the vCPU is
 * scheduled back in).  The window itself is not visible, so it is probed:
 * from window W, a spin of W - 2 PAUSEs takes no PAUSE exit and one of
 * W + 2 takes exactly one (CPUs exit on PAUSE W or W + 1).  On VMX the
 * window is in TSC cycles, and a PAUSE's cost in cycles moves with the
 * CPU's frequency, so the probes are W / 4 and 2 * W cycles long.
 *
 * Any other VM-Exit (e.g. the host's tick) reloads the CPU's pause counter:
 * such a spin may show fewer PAUSE exits than the schedule, never more, and
 * so may one whose VM-Exits the host cannot see (nested virtualization).
 * The window stays exact, one grow per PAUSE exit, unless the vCPU thread
 * was scheduled out, which shrinks it.  So a case fails only if a spin
 * takes more PAUSE exits than the schedule, or (not under a hypervisor)
 * none where it expects some, MAX_WRONG times in a row; other spins are
 * repeated, and a case whose spins are never undisturbed (e.g. longer than
 * the host's tick period) is skipped with the figures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "kvm_util.h"
#include "processor.h"
#include "apic.h"
#include "kselftest.h"

#define TIMER_VECTOR		0xec
#define APIC_TDCR_DIV_1		0xb
/* One-shot timer that wakes the halted vCPU, in APIC bus cycles (ns). */
#define TIMER_NS		1000000ULL

/*
 * A spin that the host's tick interrupts with probability p is disturbed in
 * all of MAX_TRIES tries with probability p^MAX_TRIES: 1e-5 for p = 3/4, a
 * spin of three quarters of the tick period.  A wrong result fails only
 * MAX_WRONG times in a row (a CPU stall, e.g. an SMI, can reload the count
 * with no VM-Exit, but not every time); the bugs this test is for do it
 * every time.
 */
#define MAX_TRIES		40
#define MAX_WRONG		8
#define MAX_GROW_STEPS		64

enum guest_op {
	GUEST_OP_SPIN,
	GUEST_OP_HALT,
};

static u64 guest_op;
static u64 guest_nr_pauses;

/* How often spins were disturbed and cases started again, for the log. */
static int nr_spins, nr_disturbed, nr_restarts;

static struct {
	const char *module;
	u64 base, grow, shrink, max;
	u64 gap;		/* pause_filter_thresh or ple_gap, in cycles */
	bool svm;
	bool nested;		/* this host runs under a hypervisor */
} ple;

/* What one guest op did. */
struct step {
	u64 nr;
	u64 pause_exits;
	u64 irq_exits;
	u64 other_exits;
	u64 switches;		/* the vCPU thread's context switches */
	u64 halt_wakeups;
	u64 cycles;
};

/* A vCPU under test and the window the host expects it to have. */
struct ctx {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	u64 window;
	u64 cycles_per_pause;
	struct step s;		/* the last guest op */
	char why[160];		/* what the last SPIN_WRONG was */
};

enum verdict {
	SPIN_OK,		/* as many PAUSE exits as the schedule says */
	SPIN_WRONG,		/* too many, or none where some are due */
	SPIN_AGAIN,		/* disturbed, or the window is no longer known */
	SPIN_NEVER_CLEAN,	/* disturbed in every one of MAX_TRIES tries */
};

static void guest_timer_handler(struct ex_regs *regs)
{
	x2apic_write_reg(APIC_EOI, 0);
}

/* Block in HLT until the APIC timer fires, so that KVM schedules out. */
static void guest_halt(void)
{
	x2apic_write_reg(APIC_LVTT, APIC_LVT_TIMER_ONESHOT | TIMER_VECTOR);
	x2apic_write_reg(APIC_TDCR, APIC_TDCR_DIV_1);
	x2apic_write_reg(APIC_TMICT, TIMER_NS);
	safe_halt();
	cli();
}

static void guest_code(void)
{
	u64 nr, start;

	x2apic_enable();

	for (;;) {
		nr = READ_ONCE(guest_nr_pauses);
		start = rdtsc();
		if (READ_ONCE(guest_op) == GUEST_OP_HALT)
			guest_halt();
		else
			asm volatile("1: pause\n\t"
				     "dec %0\n\t"
				     "jnz 1b"
				     : "+r"(nr) : : "memory");
		GUEST_SYNC(rdtsc() - start);
	}
}

/* The window after one more PAUSE exit, per KVM's grow rule. */
static u64 ple_grow(u64 window)
{
	u64 ret;

	if (!ple.grow)
		return ple.base;
	ret = ple.grow < ple.base ? window * ple.grow : window + ple.grow;
	return max(min(ret, ple.max), window);
}

/* The window after the vCPU is scheduled back in, per KVM's shrink rule. */
static u64 ple_shrink(u64 window)
{
	if (!ple.shrink)
		return ple.base;
	if (ple.shrink < ple.base)
		window /= ple.shrink;
	else
		window = window > ple.shrink ? window - ple.shrink : 0;
	return max(window, ple.base);
}

static u64 thread_switches(void)
{
	struct rusage ru;

	TEST_ASSERT(!getrusage(RUSAGE_THREAD, &ru), "getrusage() failed");
	return ru.ru_nvcsw + ru.ru_nivcsw;
}

/*
 * Run one guest op to its GUEST_SYNC and record which counters moved.  A
 * context switch anywhere in it, in KVM_RUN or in another vCPU ioctl,
 * shrinks the window on sched-in: count them all.
 */
static void run_op(struct kvm_vcpu *vcpu, enum guest_op op, u64 nr,
		   struct step *s)
{
	u64 exits = vcpu_get_stat(vcpu, exits);
	struct ucall uc;

	s->nr = nr;
	s->pause_exits = vcpu_get_stat(vcpu, pause_exits);
	s->irq_exits = vcpu_get_stat(vcpu, irq_exits);
	s->halt_wakeups = vcpu_get_stat(vcpu, halt_wakeup);
	s->switches = thread_switches();

	WRITE_AND_SYNC_TO_GUEST(vcpu->vm, guest_op, op);
	WRITE_AND_SYNC_TO_GUEST(vcpu->vm, guest_nr_pauses, nr);
	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_SYNC:
		s->cycles = uc.args[1];
		break;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
		break;
	default:
		TEST_FAIL("Unexpected ucall %lu", uc.cmd);
	}

	s->switches = thread_switches() - s->switches;
	s->pause_exits = vcpu_get_stat(vcpu, pause_exits) - s->pause_exits;
	s->irq_exits = vcpu_get_stat(vcpu, irq_exits) - s->irq_exits;
	s->halt_wakeups = vcpu_get_stat(vcpu, halt_wakeup) - s->halt_wakeups;
	/* Less the ucall's own exit. */
	s->other_exits = vcpu_get_stat(vcpu, exits) - exits - 1 -
			 s->pause_exits - s->irq_exits;
}

/*
 * Spin @nr PAUSEs from the window the host expects, which allows @lo to @hi
 * PAUSE exits.  More is wrong even if the spin was disturbed, and so is
 * none where some are due if it was not; a disturbed spin in range is good
 * enough if @upper, i.e. if it only has to show that the window is not
 * larger than expected.
 */
static enum verdict spin(struct ctx *c, u64 nr, u64 lo, u64 hi, bool upper)
{
	struct step *s = &c->s;
	u64 from = c->window, n;
	bool clean;

	run_op(c->vcpu, GUEST_OP_SPIN, nr, s);
	nr_spins++;
	if (s->switches)
		return SPIN_AGAIN;
	for (n = 0; n < s->pause_exits; n++)
		c->window = ple_grow(c->window);
	clean = !s->irq_exits && !s->other_exits;
	nr_disturbed += !clean;
	if (s->pause_exits >= lo && s->pause_exits <= hi && (clean || upper))
		return SPIN_OK;
	/*
	 * Under a hypervisor, its own VM-Exits, which this host never sees,
	 * reload the count too: there, none where some are due proves nothing.
	 */
	if (s->pause_exits > hi ||
	    (!s->pause_exits && lo && clean && !ple.nested)) {
		n = snprintf(c->why, sizeof(c->why), "Expected %lu", lo);
		if (hi > lo)
			n += snprintf(c->why + n, sizeof(c->why) - n, " to %lu", hi);
		snprintf(c->why + n, sizeof(c->why) - n,
			 " PAUSE exits for %lu PAUSEs from window %lu, got %lu (%lu IRQ, %lu other exits)",
			 nr, from, s->pause_exits, s->irq_exits, s->other_exits);
		return SPIN_WRONG;
	}
	return SPIN_AGAIN;
}

/* spin() until it is not disturbed, at most MAX_TRIES times. */
static enum verdict spin_clean(struct ctx *c, u64 nr, u64 lo, u64 hi,
			       bool upper)
{
	enum verdict v;
	int try;

	for (try = 0; try < MAX_TRIES; try++) {
		v = spin(c, nr, lo, hi, upper);
		if (v != SPIN_AGAIN || c->s.switches)
			return v;
	}
	return SPIN_NEVER_CLEAN;
}

/* PAUSEs in @cycles TSC cycles of spinning, at least one. */
static u64 pauses_in(struct ctx *c, u64 cycles)
{
	return max(cycles / c->cycles_per_pause, 1ul);
}

/*
 * Probe the window: a spin just below it takes no PAUSE exit (undisturbed,
 * or it proves nothing), one just above it takes one, which grows it.  On
 * VMX, spins of a quarter and of twice the window in TSC cycles, as PAUSE
 * takes more or fewer of them when the CPU's frequency changes.
 */
static enum verdict probe_window(struct ctx *c)
{
	u64 w = c->window;
	enum verdict v;

	if (!ple.svm) {
		v = spin_clean(c, pauses_in(c, w / 4), 0, 0, false);
		if (v == SPIN_OK)
			v = spin_clean(c, pauses_in(c, 2 * w), 1, 2, true);
		return v;
	}
	v = spin_clean(c, w - 2, 0, 0, false);
	if (v == SPIN_OK)
		v = spin_clean(c, w + 2, 1, 1, true);
	return v;
}

static void vm_create_ctx(struct ctx *c, bool disable_pause)
{
	u64 nr = ple.svm ? min(ple.base / 4, 64ul) : 16, t[4], lo, hi;
	int try;

	c->vm = vm_create(1);
	if (disable_pause)
		vm_enable_cap(c->vm, KVM_CAP_X86_DISABLE_EXITS,
			      KVM_X86_DISABLE_EXITS_PAUSE);
	/* Block in HLT rather than poll, so that halting schedules out. */
	vm_enable_cap(c->vm, KVM_CAP_HALT_POLL, 0);
	c->vcpu = vm_vcpu_add(c->vm, 0, guest_code);
	vm_install_exception_handler(c->vm, TIMER_VECTOR, guest_timer_handler);
	c->window = ple.base;

	/*
	 * Fault in the guest's code and data, and time a spin well inside the
	 * window: TSC cycles per PAUSE, the mean of the middle two of four (not
	 * the fastest: the threshold counts core cycles, and under boost the
	 * TSC runs slower than the core).
	 */
	for (try = 0; try < 4; try++) {
		run_op(c->vcpu, GUEST_OP_SPIN, nr, &c->s);
		t[try] = c->s.cycles / nr;
	}
	lo = min(min(t[0], t[1]), min(t[2], t[3]));
	hi = max(max(t[0], t[1]), max(t[2], t[3]));
	c->cycles_per_pause = max((t[0] + t[1] + t[2] + t[3] - lo - hi) / 2, 1ul);
}

/* Two windows and a half from the base take exactly two PAUSE exits. */
static enum verdict exit_count(struct ctx *c)
{
	u64 w1 = ple_grow(ple.base), nr = ple.base + w1 + ple_grow(w1) / 2;
	enum verdict v = spin(c, nr, 2, 2, false);

	if (v == SPIN_OK)
		ksft_print_msg("PLE: %s: %lu PAUSEs from window %lu: %lu PAUSE exits\n",
			       ple.module, nr, ple.base, c->s.pause_exits);
	return v;
}

/* From the base, the window grows by the grow rule up to the max. */
static enum verdict growth(struct ctx *c)
{
	u64 last;
	enum verdict v;
	int i;

	/* Until a probe at the window it stopped at shows it staying. */
	for (i = 0; i < MAX_GROW_STEPS; i++) {
		last = c->window;
		v = probe_window(c);
		if (v == SPIN_NEVER_CLEAN)
			ksft_print_msg("PLE: %s: window %lu -> %lu verified, %lu never clean\n",
				       ple.module, ple.base, last, last);
		if (v != SPIN_OK)
			return v;
		if (c->window == last && i && ple_grow(last) == last)
			break;
	}
	ksft_print_msg("PLE: %s: window %lu -> %lu in %d probes%s\n",
		       ple.module, ple.base, last, i + 1,
		       i < MAX_GROW_STEPS ? ", then stays" : "");
	return SPIN_OK;
}

/*
 * Schedule the vCPU out and back in while in KVM_RUN: the guest halts until
 * its APIC timer fires.  With halt polling off, KVM blocks the vCPU thread
 * and the timer's wakeup schedules it back in, with no help from the host
 * thread.  Again unless the vCPU blocked once and its thread switched once.
 */
static enum verdict sched_in(struct ctx *c)
{
	u64 from = c->window;
	enum verdict v;

	run_op(c->vcpu, GUEST_OP_HALT, 1, &c->s);
	TEST_ASSERT_EQ(c->s.pause_exits, 0);
	if (c->s.halt_wakeups != 1 || c->s.switches != 1)
		return SPIN_AGAIN;
	c->window = ple_shrink(c->window);
	v = probe_window(c);
	if (v == SPIN_OK)
		ksft_print_msg("PLE: %s: sched-in at window %lu: window %lu\n",
			       ple.module, from, ple_shrink(from));
	return v;
}

/* From the base window (nothing may wrap), then (SVM) from a grown one. */
static enum verdict reset(struct ctx *c)
{
	enum verdict v = sched_in(c);

	if (v != SPIN_OK || !ple.svm)
		return v;
	return sched_in(c);
}

/*
 * Run a case in a fresh VM until it passes.  A wrong result fails only if it
 * repeats; a case whose spins are never undisturbed is skipped.
 */
static void run_case(const char *name, enum verdict (*attempt)(struct ctx *c))
{
	int try, wrong = 0;
	enum verdict v = SPIN_AGAIN;
	struct ctx c;

	for (try = 0; try < MAX_TRIES && v != SPIN_NEVER_CLEAN; try++) {
		vm_create_ctx(&c, false);
		v = attempt(&c);
		kvm_vm_free(c.vm);
		if (v == SPIN_OK) {
			ksft_test_result_pass("%s\n", name);
			return;
		}
		if (v == SPIN_WRONG)
			TEST_ASSERT(++wrong < MAX_WRONG, "%s (%d times in a row)",
				    c.why, MAX_WRONG);
		else
			wrong = 0;
		nr_restarts++;
	}
	ksft_print_msg("PLE: %s: %lu PAUSEs, %lu cycles, %lu IRQ/%lu other exits, %lu switches\n",
		       name, c.s.nr, c.s.cycles, c.s.irq_exits, c.s.other_exits,
		       c.s.switches);
	ksft_test_result_skip("%s: spins of %lu PAUSEs never undisturbed\n",
			      name, c.s.nr);
}

/* No PAUSE exit, whatever else happens, with KVM_X86_DISABLE_EXITS_PAUSE. */
static void test_disable_exits(void)
{
	struct ctx c;

	vm_create_ctx(&c, true);
	run_op(c.vcpu, GUEST_OP_SPIN, 3 * ple.base + 2, &c.s);
	TEST_ASSERT(!c.s.pause_exits,
		    "Expected no PAUSE exit with KVM_X86_DISABLE_EXITS_PAUSE, got %lu",
		    c.s.pause_exits);
	kvm_vm_free(c.vm);
	ksft_test_result_pass("KVM_X86_DISABLE_EXITS_PAUSE\n");
}

/* ple_window_max defaults to UINT_MAX, which is no int. */
static u64 get_kvm_intel_param_u64(const char *param)
{
	char path[128];
	u64 val;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/kvm_intel/parameters/%s", param);
	f = fopen(path, "r");
	TEST_ASSERT(f, "Failed to open %s", path);
	TEST_ASSERT(fscanf(f, "%lu", &val) == 1, "Failed to parse %s", path);
	fclose(f);
	return val;
}

static void read_params(void)
{
	ple.svm = host_cpu_is_amd_compatible;
	ple.nested = this_cpu_has(X86_FEATURE_HYPERVISOR);
	if (ple.svm) {
		ple.module = "kvm_amd";
		__TEST_REQUIRE(this_cpu_has(X86_FEATURE_PAUSEFILTER),
			       "CPU lacks PauseFilter (CPUID 0x8000000A EDX[10])");
		ple.base = get_kvm_amd_param_integer("pause_filter_count");
		__TEST_REQUIRE(ple.base,
			       "PAUSE exiting is off (kvm_amd.pause_filter_count=0)");
		ple.gap = get_kvm_amd_param_integer("pause_filter_thresh");
		ple.grow = get_kvm_amd_param_integer("pause_filter_count_grow");
		ple.shrink = get_kvm_amd_param_integer("pause_filter_count_shrink");
		ple.max = get_kvm_amd_param_integer("pause_filter_count_max");
	} else {
		ple.module = "kvm_intel";
		ple.gap = get_kvm_intel_param_integer("ple_gap");
		__TEST_REQUIRE(ple.gap,
			       "PAUSE-loop exiting is off or unsupported (kvm_intel.ple_gap=0)");
		ple.base = get_kvm_intel_param_integer("ple_window");
		ple.grow = get_kvm_intel_param_integer("ple_window_grow");
		ple.shrink = get_kvm_intel_param_integer("ple_window_shrink");
		ple.max = get_kvm_intel_param_u64("ple_window_max");
	}
	__TEST_REQUIRE(ple.base >= 16, "Window %lu too small to probe", ple.base);
}

static bool kvm_has_vcpu_stat(const char *name)
{
	struct kvm_vm *vm = vm_create_barebones();
	struct kvm_vcpu *vcpu = __vm_vcpu_add(vm, 0);
	struct kvm_binary_stats *stats = &vcpu->stats;
	bool found = false;
	u32 i;

	vcpu_get_stat(vcpu, exits);
	for (i = 0; i < stats->header.num_desc && !found; i++)
		found = !strcmp(get_stats_descriptor(stats->desc, i,
						     &stats->header)->name, name);
	kvm_vm_free(vm);
	return found;
}

int main(int argc, char *argv[])
{
	static const char * const names[] = {
		"exit count", "growth and cap", "reset on sched-in",
	};
	struct ctx c;
	int i;

	TEST_REQUIRE(host_cpu_is_amd_compatible || host_cpu_is_intel);
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_HALT_POLL));
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_X86_DISABLE_EXITS) &
		     KVM_X86_DISABLE_EXITS_PAUSE);
	__TEST_REQUIRE(kvm_has_vcpu_stat("pause_exits"),
		       "KVM lacks the pause_exits vCPU stat");
	read_params();

	ksft_print_header();
	ksft_set_plan(4);

	/*
	 * The filter reloads its count, with no VM-Exit, when a PAUSE comes
	 * more than the threshold (SVM) or gap (VMX) after the previous one.
	 */
	vm_create_ctx(&c, false);
	kvm_vm_free(c.vm);
	ksft_print_msg("PLE: %s: base %lu, grow %lu, shrink %lu, max %lu, gap %lu\n",
		       ple.module, ple.base, ple.grow, ple.shrink, ple.max,
		       ple.gap);
	ksft_print_msg("PLE: PAUSEs %lu TSC cycles apart\n", c.cycles_per_pause);
	if (ple.gap && c.cycles_per_pause >= ple.gap) {
		for (i = 0; i < 3; i++)
			ksft_test_result_skip("%s: PAUSEs %lu TSC cycles apart, gap %lu\n",
					      names[i], c.cycles_per_pause, ple.gap);
	} else if (!ple.svm) {
		ksft_test_result_skip("%s: the VMX window is in TSC cycles\n", names[0]);
		ksft_test_result_skip("%s: the VMX window is in TSC cycles\n", names[1]);
		run_case(names[2], reset);
	} else {
		run_case(names[0], exit_count);
		run_case(names[1], growth);
		run_case(names[2], reset);
	}
	test_disable_exits();
	ksft_print_msg("PLE: %d spins, %d disturbed, %d cases started again\n",
		       nr_spins, nr_disturbed, nr_restarts);

	ksft_finished();
}
