// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmx_ple_window: VMX's PAUSE-loop exiting window as KVM sizes it from the
 * kvm_intel params, for ci/45-vmx.t: what patches 1 and 2 of the series
 * change on VMX (the window helpers are shared with SVM).  Not part of the
 * series: a program of this project, built beside the selftests.
 *
 * A guest spins "1: pause; dec; jnz 1b" at CPL 0; a spin longer than
 * ple_window TSC cycles, its PAUSEs closer than ple_gap, takes a PLE exit
 * (SDM, "PAUSE-Loop Exiting"), after which KVM grows the vCPU's window, and
 * KVM shrinks it when the vCPU thread is scheduled back in (here: after
 * blocking in HLT).  Two cases, each on a new VM:
 *
 *   sched-in  after a HLT, a spin of three and a half ple_window takes a PLE
 *             exit (the window came back to ple_window);
 *   grown     after a PLE exit, a spin shorter than ple_window takes no
 *             more than MAX_STRAY_EXITS exits (the window never drops below
 *             ple_window).
 *
 * Exits are counted as in svm_pause_filter_test: those of a spin that no
 * stat accounts for.  "A PLE exit" may so be a stray one (an NMI), "no PLE
 * exit" allows MAX_STRAY_EXITS of them: strays can hide a bug, never fail a
 * correct window.  A spin without a PLE exit is tried again, a few times,
 * when the stats show a host interrupt or a preemption (each restarts the
 * loop), and so is a grown window that a preemption may have shrunk; every
 * spin runs with IF=1 (Bochs masks host interrupts with the guest's IF,
 * hardware does not).  A pass is measured in TSC cycles first, in a VM
 * without PAUSE exiting.
 *
 * On v7.3-rc7 with ple_window_shrink=8192 (at least ple_window), a sched-in
 * wraps the window to 4294963200 cycles: no PLE exit.  With ple_window_max
 * below ple_window, the first PLE exit takes the window down to the max.
 */
#include "kvm_util.h"
#include "processor.h"
#include "apic.h"
#include "kselftest.h"

#define TIMER_VECTOR		0xec
/* In APIC bus cycles, KVM's default of 1 ns each: long enough to block. */
#define HALT_BUS_CYCLES		1000000
#define MAX_STRAY_EXITS		2
#define MAX_TRIES		5
#define NR_COST_PASSES		1000

static u64 guest_nr_pauses;
static bool guest_halt;
static u64 window, cycles_per_pass_x1000;
static char why[160];

static void guest_timer_handler(struct ex_regs *regs)
{
	x2apic_write_reg(APIC_EOI, 0);
}

static void guest_code(void)
{
	u64 nr, t0;

	x2apic_enable();
	x2apic_write_reg(APIC_TDCR, APIC_TDR_DIV_1);
	sti();
	for (;;) {
		nr = READ_ONCE(guest_nr_pauses);
		t0 = rdtsc();
		if (READ_ONCE(guest_halt)) {
			cli();
			x2apic_write_reg(APIC_LVTT, TIMER_VECTOR);
			x2apic_write_reg(APIC_TMICT, HALT_BUS_CYCLES);
			safe_halt();
		} else if (nr) {
			asm volatile("1: pause\n\t"
				     "dec %0\n\t"
				     "jnz 1b"
				     : "+r"(nr) : : "memory");
		}
		GUEST_SYNC1(rdtsc() - t0);
	}
}

struct spin {
	u64 nr_pauses, tsc, exits;
	bool reloaded, scheduled_in, blocked;
};

static u64 named_exits(struct kvm_vcpu *vcpu)
{
	return vcpu_get_stat(vcpu, irq_exits) + vcpu_get_stat(vcpu, io_exits) +
	       vcpu_get_stat(vcpu, halt_exits) + vcpu_get_stat(vcpu, pf_taken);
}

static u64 reloads(struct kvm_vcpu *vcpu)
{
	return vcpu_get_stat(vcpu, irq_exits) + vcpu_get_stat(vcpu, pf_taken);
}

static u64 preemptions(struct kvm_vcpu *vcpu)
{
	return vcpu_get_stat(vcpu, preemption_reported) +
	       vcpu_get_stat(vcpu, preemption_other);
}

static void run_guest(struct kvm_vcpu *vcpu, bool halt, u64 nr, struct spin *r)
{
	u64 exits = vcpu_get_stat(vcpu, exits), named = named_exits(vcpu);
	u64 reloaded = reloads(vcpu), preempted = preemptions(vcpu);
	u64 wait_ns = vcpu_get_stat(vcpu, halt_wait_ns);
	struct ucall uc;

	WRITE_AND_SYNC_TO_GUEST(vcpu->vm, guest_halt, halt);
	WRITE_AND_SYNC_TO_GUEST(vcpu->vm, guest_nr_pauses, nr);
	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	if (get_ucall(vcpu, &uc) == UCALL_ABORT)
		REPORT_GUEST_ASSERT(uc);
	TEST_ASSERT_EQ(uc.cmd, UCALL_SYNC);

	exits = vcpu_get_stat(vcpu, exits) - exits;
	named = named_exits(vcpu) - named;
	TEST_ASSERT(exits >= named, "%lu exits, of which %lu accounted for",
		    exits, named);
	r->nr_pauses = nr;
	r->tsc = uc.args[0];
	r->exits = exits - named;
	r->reloaded = reloads(vcpu) != reloaded;
	r->scheduled_in = preemptions(vcpu) != preempted;
	r->blocked = vcpu_get_stat(vcpu, halt_wait_ns) != wait_ns;
}

static struct kvm_vm *create_vm(struct kvm_vcpu **vcpu, bool disable_pause)
{
	struct kvm_vm *vm = vm_create(1);
	struct spin r;

	if (disable_pause)
		vm_enable_cap(vm, KVM_CAP_X86_DISABLE_EXITS,
			      KVM_X86_DISABLE_EXITS_PAUSE);
	vm_enable_cap(vm, KVM_CAP_HALT_POLL, 0);
	*vcpu = vm_vcpu_add(vm, 0, guest_code);
	vm_install_exception_handler(vm, TIMER_VECTOR, guest_timer_handler);
	run_guest(*vcpu, false, 0, &r);
	return vm;
}

/* The passes of a spin of @cycles TSC cycles. */
static u64 passes(u64 cycles)
{
	return cycles * 1000 / cycles_per_pass_x1000;
}

/* The cheapest of a few short spins without PAUSE exiting. */
static void measure_pass(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = create_vm(&vcpu, true);
	u64 best = 0;
	struct spin r;
	int i;

	for (i = 0; i < 5; i++) {
		run_guest(vcpu, false, NR_COST_PASSES, &r);
		if (!best || r.tsc < best)
			best = r.tsc;
	}
	kvm_vm_free(vm);
	cycles_per_pass_x1000 = best * 1000 / NR_COST_PASSES;
	TEST_ASSERT(cycles_per_pass_x1000, "a pass takes no TSC cycle");
}

enum verdict { PASS, FAIL, RETRY };

static enum verdict spin(struct kvm_vcpu *vcpu, u64 cycles, bool want_exit,
			 const char *what, struct spin *r)
{
	run_guest(vcpu, false, passes(cycles), r);
	snprintf(why, sizeof(why),
		 "%s%lu passes (%lu TSC cycles, window %lu): %lu PLE exits",
		 what, r->nr_pauses, r->tsc, window, r->exits);
	if (!want_exit)
		return r->exits <= MAX_STRAY_EXITS ? PASS : FAIL;
	if (r->exits)
		return PASS;
	return r->reloaded || r->scheduled_in ? RETRY : FAIL;
}

static enum verdict sched_in(struct kvm_vcpu *vcpu)
{
	struct spin r;

	run_guest(vcpu, true, 0, &r);
	snprintf(why, sizeof(why), "HLT did not block");
	if (!r.blocked)
		return RETRY;
	return spin(vcpu, 3 * window + window / 2, true, "after HLT, ", &r);
}

static enum verdict grown(struct kvm_vcpu *vcpu)
{
	struct spin r1, r2;
	enum verdict v;

	v = spin(vcpu, 3 * window + window / 2, true, "", &r1);
	if (v != PASS)
		return v;
	v = spin(vcpu, window - 1, false, "then ", &r2);
	/* A sched-in meanwhile shrinks the window back: no verdict then. */
	if (v == PASS && (r1.scheduled_in || r2.scheduled_in))
		return RETRY;
	return v;
}

static void run_case(const char *name, enum verdict (*fn)(struct kvm_vcpu *))
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	enum verdict v;
	int try;

	for (try = 1; try <= MAX_TRIES; try++) {
		vm = create_vm(&vcpu, false);
		v = fn(vcpu);
		kvm_vm_free(vm);
		if (v != RETRY) {
			ksft_test_result(v == PASS, "%s: %s, try %d\n",
					 name, why, try);
			return;
		}
	}
	ksft_test_result_skip("%s: %d tries, last: %s\n", name, MAX_TRIES, why);
}

int main(int argc, char *argv[])
{
	TEST_REQUIRE(host_cpu_is_intel);
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_X86_DISABLE_EXITS) &
		     KVM_X86_DISABLE_EXITS_PAUSE);
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_HALT_POLL));

	window = get_kvm_intel_param_integer("ple_window");
	__TEST_REQUIRE(window && get_kvm_intel_param_integer("ple_gap"),
		       "PAUSE-loop exiting off (ple_gap or ple_window 0)");
	pin_self_to_any_cpu();

	ksft_print_header();
	ksft_set_plan(2);
	measure_pass();
	ksft_print_msg("PROBE: vmx: ple_window=%lu ple_gap=%d cycles_per_pass=%lu.%03lu\n",
		       window, get_kvm_intel_param_integer("ple_gap"),
		       cycles_per_pass_x1000 / 1000, cycles_per_pass_x1000 % 1000);
	run_case("sched-in", sched_in);
	run_case("grown", grown);
	ksft_finished();
}
