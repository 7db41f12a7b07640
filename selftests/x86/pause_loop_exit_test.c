// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test KVM's PAUSE-loop exiting policy through the pause_exits vCPU stat:
 * a guest spins on PAUSE with interrupts disabled, and the host checks the
 * PAUSE exits against the window schedule of the vendor module's params
 * (grow on every PAUSE exit up to the max, shrink when the vCPU is
 * scheduled back in).  The window itself is not visible, so it is probed:
 * from window W, a spin of W - 2 PAUSEs takes no PAUSE exit and one of
 * W + 2 takes exactly one (CPUs exit on PAUSE W or W + 1).  On VMX the
 * window is in TSC cycles, so the probes are W / 2 and 3 * W / 2 cycles.
 *
 * Any other VM-Exit (e.g. the host's tick) reloads the CPU's pause counter:
 * such a spin may show fewer PAUSE exits than the schedule, never more.
 * The window stays exact, one grow per PAUSE exit, unless the vCPU was
 * preempted, which shrinks it at an unknown point.  Disturbed spins are
 * repeated; a case whose spins are never undisturbed, e.g. because they
 * last longer than the host's tick period, is skipped with the figures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm_util.h"
#include "processor.h"
#include "apic.h"
#include "kselftest.h"

#define TIMER_VECTOR		0xec
#define APIC_TDCR_DIV_1		0xb
/* One-shot timer that wakes the halted vCPU, in APIC bus cycles (ns). */
#define TIMER_NS		1000000ULL

/*
 * A spin that the host's tick interrupts with probability p is clean in at
 * least one of MAX_TRIES tries but with probability p^MAX_TRIES: 1e-5 for
 * p = 3/4, i.e. for a spin of a quarter of the tick period.  A clean spin
 * with too few PAUSE exits must repeat MAX_WRONG times before it fails:
 * with PFThreshold, a stall of the CPU (an SMI) reloads the counter with no
 * VM-Exit, but not in every spin; a bug does.
 */
#define MAX_TRIES		40
#define MAX_WRONG		3
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
} ple;

/* What one guest op did. */
struct step {
	u64 nr;
	u64 pause_exits;
	u64 irq_exits;
	u64 other_exits;
	u64 preemptions;
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
	SPIN_WRONG,		/* not so, undisturbed (or too many anyway) */
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

static u64 vcpu_preemptions(struct kvm_vcpu *vcpu)
{
	return vcpu_get_stat(vcpu, preemption_reported) +
	       vcpu_get_stat(vcpu, preemption_other);
}

/* Run one guest op to its GUEST_SYNC and record which counters moved. */
static void run_op(struct kvm_vcpu *vcpu, enum guest_op op, u64 nr,
		   struct step *s)
{
	u64 exits = vcpu_get_stat(vcpu, exits);
	struct ucall uc;
	int r;

	WRITE_AND_SYNC_TO_GUEST(vcpu->vm, guest_op, op);
	WRITE_AND_SYNC_TO_GUEST(vcpu->vm, guest_nr_pauses, nr);

	s->nr = nr;
	s->pause_exits = vcpu_get_stat(vcpu, pause_exits);
	s->irq_exits = vcpu_get_stat(vcpu, irq_exits);
	s->preemptions = vcpu_preemptions(vcpu);
	s->halt_wakeups = vcpu_get_stat(vcpu, halt_wakeup);

	/*
	 * KVM_RUN by hand, and the stats read before any other vCPU ioctl:
	 * every vCPU ioctl loads the vCPU, so a preemption in one (e.g. in the
	 * KVM_GET_REGS of get_ucall()) shrinks the window on sched-in, but KVM
	 * counts preemptions only in KVM_RUN.
	 */
	do {
		r = __vcpu_run(vcpu);
	} while (r == -1 && errno == EINTR);
	TEST_ASSERT(!r, KVM_IOCTL_ERROR(KVM_RUN, r));

	s->pause_exits = vcpu_get_stat(vcpu, pause_exits) - s->pause_exits;
	s->irq_exits = vcpu_get_stat(vcpu, irq_exits) - s->irq_exits;
	s->preemptions = vcpu_preemptions(vcpu) - s->preemptions;
	s->halt_wakeups = vcpu_get_stat(vcpu, halt_wakeup) - s->halt_wakeups;
	/* Less the ucall's own exit. */
	s->other_exits = vcpu_get_stat(vcpu, exits) - exits - 1 -
			 s->pause_exits - s->irq_exits;

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
}

/*
 * Spin @nr PAUSEs and expect @want PAUSE exits from the window the host
 * expects.  More is wrong even if the spin was disturbed; fewer only if it
 * was not.  A disturbed spin with @want exits is good enough if @upper: it
 * only has to show that the window is not larger than expected.
 */
static enum verdict spin(struct ctx *c, u64 nr, u64 want, bool upper)
{
	struct step *s = &c->s;
	u64 from = c->window, n;
	bool clean;

	run_op(c->vcpu, GUEST_OP_SPIN, nr, s);
	nr_spins++;
	if (s->preemptions)
		return SPIN_AGAIN;
	for (n = 0; n < s->pause_exits; n++)
		c->window = ple_grow(c->window);
	clean = !s->irq_exits && !s->other_exits;
	nr_disturbed += !clean;
	if (s->pause_exits == want && (clean || upper))
		return SPIN_OK;
	if (s->pause_exits > want || clean) {
		snprintf(c->why, sizeof(c->why),
			 "Expected %lu PAUSE exits for %lu PAUSEs from window %lu, got %lu (%lu IRQ, %lu other exits)",
			 want, nr, from, s->pause_exits, s->irq_exits,
			 s->other_exits);
		return SPIN_WRONG;
	}
	return SPIN_AGAIN;
}

/* spin() until it is not disturbed, at most MAX_TRIES times. */
static enum verdict spin_clean(struct ctx *c, u64 nr, u64 want, bool upper)
{
	enum verdict v;
	int try;

	for (try = 0; try < MAX_TRIES; try++) {
		v = spin(c, nr, want, upper);
		if (v != SPIN_AGAIN || c->s.preemptions)
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
 * or it proves nothing), one just above it takes one, which grows it.
 */
static enum verdict probe_window(struct ctx *c)
{
	u64 w = c->window;
	enum verdict v;

	v = spin_clean(c, ple.svm ? w - 2 : pauses_in(c, w / 2), 0, false);
	if (v != SPIN_OK)
		return v;
	return spin_clean(c, ple.svm ? w + 2 : pauses_in(c, w + w / 2), 1, true);
}

static void vm_create_ctx(struct ctx *c, bool disable_pause)
{
	u64 nr = ple.svm ? min(ple.base / 4, 64ul) : 64;
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
	 * window: TSC cycles per PAUSE, the fastest of a few.
	 */
	c->cycles_per_pause = ~0ull;
	for (try = 0; try < 4; try++) {
		run_op(c->vcpu, GUEST_OP_SPIN, nr, &c->s);
		c->cycles_per_pause = min(c->cycles_per_pause, c->s.cycles / nr);
	}
	c->cycles_per_pause = max(c->cycles_per_pause, 1ul);
}

/* Two windows and a half from the base take exactly two PAUSE exits. */
static enum verdict exit_count(struct ctx *c)
{
	u64 w1 = ple_grow(ple.base), nr = ple.base + w1 + ple_grow(w1) / 2;
	enum verdict v = spin(c, nr, 2, false);

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

	for (i = 0; i < MAX_GROW_STEPS; i++) {
		last = c->window;
		v = probe_window(c);
		if (v == SPIN_NEVER_CLEAN)
			ksft_print_msg("PLE: %s: window %lu -> %lu verified, %lu never clean\n",
				       ple.module, ple.base, last, last);
		if (v != SPIN_OK)
			return v;
		if (c->window == last)
			break;
	}
	TEST_ASSERT(i < MAX_GROW_STEPS, "Expected the window to stop growing in %d probes",
		    MAX_GROW_STEPS);
	ksft_print_msg("PLE: %s: window %lu -> %lu in %d probes, then stays\n",
		       ple.module, ple.base, last, i + 1);
	return SPIN_OK;
}

/*
 * Schedule the vCPU out and back in while in KVM_RUN: the guest halts until
 * its APIC timer fires.  With halt polling off, KVM blocks the vCPU thread
 * and the timer's wakeup schedules it back in, with no help from the host
 * thread.  Again unless the vCPU blocked exactly once and was not preempted.
 */
static enum verdict sched_in(struct ctx *c)
{
	u64 from = c->window;
	enum verdict v;

	run_op(c->vcpu, GUEST_OP_HALT, 1, &c->s);
	TEST_ASSERT_EQ(c->s.pause_exits, 0);
	if (c->s.halt_wakeups != 1 || c->s.preemptions)
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
	enum verdict v;
	struct ctx c;

	for (try = 0; try < MAX_TRIES; try++) {
		vm_create_ctx(&c, false);
		v = attempt(&c);
		kvm_vm_free(c.vm);
		switch (v) {
		case SPIN_OK:
			ksft_test_result_pass("%s\n", name);
			return;
		case SPIN_WRONG:
			wrong++;
			TEST_ASSERT(wrong < MAX_WRONG, "%s (%d times)", c.why, wrong);
			break;
		case SPIN_NEVER_CLEAN:
			try = MAX_TRIES;
			break;
		case SPIN_AGAIN:
			break;
		}
		nr_restarts++;
	}
	ksft_print_msg("PLE: %s: %lu PAUSEs, %lu cycles, %lu IRQ/%lu other exits, %lu preempted\n",
		       name, c.s.nr, c.s.cycles, c.s.irq_exits, c.s.other_exits,
		       c.s.preemptions);
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
