// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test KVM's PAUSE-loop exiting policy: a guest spins on PAUSE with
 * interrupts disabled, and the host checks the pause_exits and ple_window
 * vCPU stats against the window schedule that KVM's module params define:
 *
 *  - the number of PAUSE exits for a spin of a given length,
 *  - the window growing by the "grow" rule up to the max, and staying there,
 *  - the window shrinking by the "shrink" rule when the vCPU is scheduled
 *    out and back in while in KVM_RUN,
 *  - no PAUSE exit and no window with KVM_X86_DISABLE_EXITS_PAUSE.
 *
 * Every VM-Exit reloads the hardware's pause counter, and a vCPU that is
 * preempted gets its window shrunk, so a spin that is interrupted by
 * anything else than its own PAUSE exits is not a valid sample: the host
 * detects those with the exit and preemption stats and repeats the step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"
#include "apic.h"
#include "kselftest.h"

#define TIMER_VECTOR		0xec
#define APIC_TDCR_DIV_1		0xb
/* One-shot timer that wakes the halted vCPU, in APIC bus cycles (ns). */
#define TIMER_NS		1000000ULL
#define NR_SPIN_PAUSES		100000ULL
#define MAX_TRIES		10
#define MAX_GROW_STEPS		64

enum guest_op {
	GUEST_OP_SPIN,
	GUEST_OP_HALT,
};

static u64 guest_op;
static u64 guest_nr_pauses;

/* The PLE policy, as read from the vendor module's params. */
static struct {
	const char *module;
	u64 base, grow, shrink, max;
} ple;

/* Which KVM counters a step moved. */
struct step {
	u64 pause_exits;
	u64 exits;
	u64 preemptions;
	u64 halt_wakeups;
	u64 window_before;
	u64 window_after;
};

static void guest_timer_handler(struct ex_regs *regs)
{
	x2apic_write_reg(APIC_EOI, 0);
}

/* Exactly @nr PAUSEs, back to back; interrupts are disabled. */
static void guest_spin(u64 nr)
{
	asm volatile("1: pause\n\t"
		     "dec %0\n\t"
		     "jnz 1b"
		     : "+r"(nr) : : "memory");
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
	x2apic_enable();

	for (;;) {
		switch (READ_ONCE(guest_op)) {
		case GUEST_OP_SPIN:
			guest_spin(READ_ONCE(guest_nr_pauses));
			break;
		case GUEST_OP_HALT:
			guest_halt();
			break;
		default:
			__GUEST_ASSERT(0, "Expected a known op, got %lu", guest_op);
		}
		GUEST_SYNC(0);
	}
}

/* The window after one more PAUSE exit, per KVM's grow rule. */
static u64 ple_grow(u64 window)
{
	u64 ret;

	if (!ple.grow)
		return ple.base;
	ret = ple.grow < ple.base ? window * ple.grow : window + ple.grow;
	ret = min(ret, ple.max);
	return max(ret, window);
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

/*
 * PAUSE exits for a spin of @nr PAUSEs that starts with window @window, if
 * every window lets @window + @slack PAUSEs through, counting the one that
 * exits.  CPUs differ by one here (an emulated Ryzen exits on PAUSE C+1,
 * kvm-unit-tests expects real parts to exit on PAUSE C).
 */
static u64 predict_exits(u64 window, u64 nr, int slack)
{
	u64 exits = 0, per_exit;

	for (;;) {
		per_exit = (s64)window + slack > 1 ? window + slack : 1;
		if (nr < per_exit)
			return exits;
		nr -= per_exit;
		exits++;
		window = ple_grow(window);
	}
}

static u64 grow_n(u64 window, u64 n)
{
	while (n--)
		window = ple_grow(window);
	return window;
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
	struct kvm_vm *vm = vcpu->vm;
	struct ucall uc;
	int r;

	WRITE_AND_SYNC_TO_GUEST(vm, guest_op, op);
	WRITE_AND_SYNC_TO_GUEST(vm, guest_nr_pauses, nr);

	s->window_before = vcpu_get_stat(vcpu, ple_window);
	s->pause_exits = vcpu_get_stat(vcpu, pause_exits);
	s->exits = vcpu_get_stat(vcpu, exits);
	s->preemptions = vcpu_preemptions(vcpu);
	s->halt_wakeups = vcpu_get_stat(vcpu, halt_wakeup);

	/*
	 * KVM_RUN by hand, and the stats read before any other vCPU ioctl:
	 * every vCPU ioctl loads the vCPU, so if the thread is preempted in one
	 * of them (e.g. in the KVM_GET_REGS of get_ucall(), which vcpu_run()
	 * also does), the window shrinks on sched-in without KVM counting a
	 * preemption, which it does only in KVM_RUN.
	 */
	do {
		r = __vcpu_run(vcpu);
	} while (r == -1 && errno == EINTR);
	TEST_ASSERT(!r, KVM_IOCTL_ERROR(KVM_RUN, r));

	s->window_after = vcpu_get_stat(vcpu, ple_window);
	s->pause_exits = vcpu_get_stat(vcpu, pause_exits) - s->pause_exits;
	s->exits = vcpu_get_stat(vcpu, exits) - s->exits;
	s->preemptions = vcpu_preemptions(vcpu) - s->preemptions;
	s->halt_wakeups = vcpu_get_stat(vcpu, halt_wakeup) - s->halt_wakeups;

	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_SYNC:
		break;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
		break;
	default:
		TEST_FAIL("Unexpected ucall %lu", uc.cmd);
	}
}

/*
 * A spin is a valid sample if nothing but its own PAUSE exits and the
 * final ucall took the vCPU out of the guest, and it was never preempted.
 */
static bool spin_is_clean(struct step *s)
{
	return s->exits == s->pause_exits + 1 && !s->preemptions;
}

static void check_window_bounds(u64 window)
{
	TEST_ASSERT(window >= ple.base && window <= max(ple.max, ple.base),
		    "Expected the window within [%lu, %lu], got %lu",
		    ple.base, max(ple.max, ple.base), window);
}

/*
 * Give the CPU away for a moment, so that host tasks made runnable by what
 * came before (e.g. the NX huge page recovery thread that KVM starts at a
 * VM's first KVM_RUN) run now rather than preempt the next spin.
 */
static void let_host_run(void)
{
	usleep(1000);
}

/* One window and a half of PAUSEs: one PAUSE exit, whatever the slack. */
static u64 spin_len(u64 window)
{
	return window + window / 2 + 2;
}

static void print_disturbed(u64 nr, struct step *s)
{
	ksft_print_msg("Disturbed: %lu PAUSEs, %lu exits (%lu PAUSE), %lu preempted, again\n",
		       nr, s->exits, s->pause_exits, s->preemptions);
}

/*
 * Spin one window and a half from the current window, and repeat until a
 * spin is not disturbed; every try starts from the window the previous one
 * left, so its length is computed again.  Returns the length of the spin.
 */
static u64 spin_undisturbed(struct kvm_vcpu *vcpu, struct step *s)
{
	int try;
	u64 nr;

	for (try = 0; try < MAX_TRIES; try++) {
		nr = spin_len(vcpu_get_stat(vcpu, ple_window));
		run_op(vcpu, GUEST_OP_SPIN, nr, s);
		check_window_bounds(s->window_after);
		if (spin_is_clean(s))
			return nr;
		print_disturbed(nr, s);
		let_host_run();
	}
	TEST_FAIL("Expected an undisturbed spin in %d tries", MAX_TRIES);
	return 0;
}

/* Check a clean spin against the window schedule. */
static void check_spin(struct step *s, u64 nr)
{
	u64 lo = predict_exits(s->window_before, nr, 1);
	u64 hi = predict_exits(s->window_before, nr, -1);

	TEST_ASSERT(s->pause_exits >= lo && s->pause_exits <= hi,
		    "Expected %lu..%lu PAUSE exits for %lu PAUSEs from window %lu, got %lu",
		    lo, hi, nr, s->window_before, s->pause_exits);
	TEST_ASSERT(s->window_after == grow_n(s->window_before, s->pause_exits),
		    "Expected window %lu after %lu PAUSE exits from window %lu, got %lu",
		    grow_n(s->window_before, s->pause_exits), s->pause_exits,
		    s->window_before, s->window_after);
}

static struct kvm_vm *create_vm(struct kvm_vcpu **vcpu, bool disable_pause)
{
	struct kvm_vm *vm = vm_create(1);
	struct step s;

	if (disable_pause)
		vm_enable_cap(vm, KVM_CAP_X86_DISABLE_EXITS,
			      KVM_X86_DISABLE_EXITS_PAUSE);
	/* Block in HLT rather than poll, so that halting schedules out. */
	vm_enable_cap(vm, KVM_CAP_HALT_POLL, 0);

	*vcpu = vm_vcpu_add(vm, 0, guest_code);
	vm_install_exception_handler(vm, TIMER_VECTOR, guest_timer_handler);

	TEST_ASSERT_EQ(vcpu_get_stat(*vcpu, pause_exits), 0);

	/* Fault in the guest's code and data before anything is measured. */
	run_op(*vcpu, GUEST_OP_SPIN, 1, &s);
	let_host_run();
	return vm;
}

/* A spin from the base window takes the PAUSE exits the schedule predicts. */
static void test_exit_count(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct step s;
	int try;

	/* A fresh vCPU per try, so that every try starts from the base. */
	for (try = 0; try < MAX_TRIES; try++) {
		vm = create_vm(&vcpu, false);
		run_op(vcpu, GUEST_OP_SPIN, NR_SPIN_PAUSES, &s);
		kvm_vm_free(vm);
		if (spin_is_clean(&s))
			break;
		print_disturbed(NR_SPIN_PAUSES, &s);
	}
	TEST_ASSERT(try < MAX_TRIES, "Expected an undisturbed spin in %d tries", MAX_TRIES);

	ksft_print_msg("PLE: %s: %llu PAUSEs from window %lu: %lu PAUSE exits, window %lu\n",
		       ple.module, NR_SPIN_PAUSES, s.window_before, s.pause_exits,
		       s.window_after);
	TEST_ASSERT(s.window_before == ple.base,
		    "Expected the base window %lu at the first spin, got %lu",
		    ple.base, s.window_before);
	check_spin(&s, NR_SPIN_PAUSES);
	ksft_test_result_pass("exit count\n");
}

/* Spins of one window and a half each grow the window up to the max. */
static void test_growth(void)
{
	u64 nr, exits = 0;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct step s;
	int i;

	vm = create_vm(&vcpu, false);
	for (i = 0; i < MAX_GROW_STEPS; i++) {
		nr = spin_undisturbed(vcpu, &s);
		check_spin(&s, nr);
		TEST_ASSERT(s.pause_exits,
			    "Expected a PAUSE exit for %lu PAUSEs from window %lu",
			    nr, s.window_before);
		exits += s.pause_exits;
		/* The window has stopped growing and stays where it is. */
		if (s.window_after == s.window_before)
			break;
	}
	TEST_ASSERT(i < MAX_GROW_STEPS, "Window still growing after %d spins",
		    MAX_GROW_STEPS);
	TEST_ASSERT(s.window_after == ple_grow(s.window_after),
		    "Expected the window to stop at %lu, got %lu",
		    ple_grow(s.window_after), s.window_after);
	kvm_vm_free(vm);

	ksft_print_msg("PLE: %s: window %lu -> %lu in %lu PAUSE exits, then stays\n",
		       ple.module, ple.base, s.window_after, exits);
	ksft_test_result_pass("growth and cap\n");
}

/*
 * Schedule the vCPU out and back in while in KVM_RUN: the guest halts until
 * its APIC timer fires.  With halt polling off, KVM blocks the vCPU thread,
 * and the timer's wakeup schedules it back in, deterministically and with
 * no help from the host thread; a signal would need a second thread and a
 * guess of when the vCPU has blocked.  The step counts only if the vCPU
 * blocked exactly once and was not also preempted.
 */
static void halt_once(struct kvm_vcpu *vcpu, struct step *s)
{
	int try;

	for (try = 0; try < MAX_TRIES; try++) {
		run_op(vcpu, GUEST_OP_HALT, 0, s);
		check_window_bounds(s->window_after);
		TEST_ASSERT_EQ(s->pause_exits, 0);
		if (s->halt_wakeups == 1 && !s->preemptions)
			return;
		ksft_print_msg("Disturbed HLT: %lu wakeups, %lu preempted, again\n",
			       s->halt_wakeups, s->preemptions);
		let_host_run();
	}
	TEST_FAIL("Expected the vCPU to block in HLT once in %d tries", MAX_TRIES);
}

static void check_shrink(struct step *s)
{
	TEST_ASSERT(s->window_after == ple_shrink(s->window_before),
		    "Expected window %lu after sched-in from window %lu, got %lu",
		    ple_shrink(s->window_before), s->window_before,
		    s->window_after);
}

static void test_reset(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	u64 nr, grown;
	struct step s;
	int try;

	vm = create_vm(&vcpu, false);

	/* From the base window: nothing to shrink, nothing may wrap. */
	halt_once(vcpu, &s);
	TEST_ASSERT(s.window_before == ple.base,
		    "Expected the base window %lu before the first sched-in, got %lu",
		    ple.base, s.window_before);
	check_shrink(&s);
	ksft_print_msg("PLE: %s: sched-in at window %lu: window %lu\n",
		       ple.module, s.window_before, s.window_after);

	/*
	 * From a grown window, which only SVM grows deterministically; the
	 * window must still be the grown one when the vCPU halts.
	 */
	if (host_cpu_is_amd_compatible) {
		for (try = 0; try < MAX_TRIES; try++) {
			nr = spin_undisturbed(vcpu, &s);
			check_spin(&s, nr);
			grown = s.window_after;
			halt_once(vcpu, &s);
			if (s.window_before == grown)
				break;
			ksft_print_msg("Disturbed: window %lu before HLT, not %lu, again\n",
				       s.window_before, grown);
			let_host_run();
		}
		TEST_ASSERT(try < MAX_TRIES,
			    "Expected the grown window at HLT in %d tries", MAX_TRIES);
		check_shrink(&s);
		ksft_print_msg("PLE: %s: sched-in at window %lu: window %lu\n",
			       ple.module, s.window_before, s.window_after);
	}

	kvm_vm_free(vm);
	ksft_test_result_pass("reset on sched-in\n");
}

static void test_disable_exits(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct step s;

	vm = create_vm(&vcpu, true);
	run_op(vcpu, GUEST_OP_SPIN, NR_SPIN_PAUSES, &s);
	TEST_ASSERT(!s.pause_exits,
		    "Expected no PAUSE exit with KVM_X86_DISABLE_EXITS_PAUSE, got %lu",
		    s.pause_exits);
	TEST_ASSERT(!s.window_before && !s.window_after,
		    "Expected no window with KVM_X86_DISABLE_EXITS_PAUSE, got %lu -> %lu",
		    s.window_before, s.window_after);
	kvm_vm_free(vm);

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
	if (host_cpu_is_amd_compatible) {
		ple.module = "kvm_amd";
		__TEST_REQUIRE(this_cpu_has(X86_FEATURE_PAUSEFILTER),
			       "CPU lacks PauseFilter (CPUID 0x8000000A EDX[10])");
		ple.base = get_kvm_amd_param_integer("pause_filter_count");
		__TEST_REQUIRE(ple.base, "Pause filtering is off (kvm_amd.pause_filter_count=0)");
		ple.grow = get_kvm_amd_param_integer("pause_filter_count_grow");
		ple.shrink = get_kvm_amd_param_integer("pause_filter_count_shrink");
		ple.max = get_kvm_amd_param_integer("pause_filter_count_max");
	} else {
		ple.module = "kvm_intel";
		__TEST_REQUIRE(get_kvm_intel_param_integer("ple_gap"),
			       "PAUSE-loop exiting is off or unsupported (kvm_intel.ple_gap=0)");
		ple.base = get_kvm_intel_param_integer("ple_window");
		ple.grow = get_kvm_intel_param_integer("ple_window_grow");
		ple.shrink = get_kvm_intel_param_integer("ple_window_shrink");
		ple.max = get_kvm_intel_param_u64("ple_window_max");
	}
}

int main(int argc, char *argv[])
{
	TEST_REQUIRE(host_cpu_is_amd_compatible || host_cpu_is_intel);
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_HALT_POLL));
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_X86_DISABLE_EXITS) &
		     KVM_X86_DISABLE_EXITS_PAUSE);
	read_params();

	ksft_print_header();
	ksft_set_plan(4);
	ksft_print_msg("PLE: %s: base %lu, grow %lu, shrink %lu, max %lu\n",
		       ple.module, ple.base, ple.grow, ple.shrink, ple.max);

	/*
	 * On VMX the window is in TSC cycles and a PAUSE ends a loop if it
	 * comes more than ple_gap cycles after the previous one, so how many
	 * PAUSEs exit depends on the CPU's timing: only check what does not.
	 */
	if (host_cpu_is_amd_compatible) {
		test_exit_count();
		test_growth();
	} else {
		ksft_test_result_skip("exit count: PAUSE timing decides on VMX\n");
		ksft_test_result_skip("growth and cap: PAUSE timing decides on VMX\n");
	}
	test_reset();
	test_disable_exits();

	ksft_finished();
}
