// SPDX-License-Identifier: GPL-2.0-only
/*
 * Verify KVM programs SVM's PAUSE filter per the kvm_amd params, in count-only
 * or threshold mode, whichever KVM uses:
 *  - with KVM_X86_DISABLE_EXITS_PAUSE, PAUSE never causes a VM-Exit;
 *  - otherwise, a long enough PAUSE loop causes a PAUSE exit;
 *  - growing the window on a PAUSE exit never takes it below
 *    pause_filter_count, e.g. if pause_filter_count_max is smaller;
 *  - shrinking the window when the vCPU is scheduled back in never grows it,
 *    e.g. if pause_filter_count_shrink is larger than pause_filter_count.
 *
 * KVM has no PAUSE exit stat: treat VM-Exits that no other stat accounts for
 * as PAUSE exits.  Host NMIs and SMIs therefore look like PAUSE exits, and
 * any VM-Exit, including one handled by L0 when running nested, reloads the
 * count.  Spins are sized so that two such events can't fail a correct KVM;
 * a spin disturbed by a host interrupt or a preemption is retried.
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
/*
 * Assume an iteration of the guest's PAUSE loop takes fewer than 128 cycles
 * (KVM's default threshold); with a lower threshold every PAUSE may reload
 * the count.
 */
#define MIN_THRESH		128

enum verdict { PASS, FAIL, RETRY };

struct spin {
	u64 nr_pauses;
	u64 pause_exits;	/* the exits no stat accounts for */
	bool reloaded;		/* the count: a host interrupt, a fault */
	bool scheduled_in;	/* after a preemption: the window shrank */
	bool blocked;		/* in HLT, i.e. scheduled out */
};

static u64 guest_nr_pauses;
static bool guest_halt;
static u64 pause_filter_count;
static char why[128];

static void guest_timer_handler(struct ex_regs *regs)
{
	x2apic_write_reg(APIC_EOI, 0);
}

static void guest_code(void)
{
	u64 nr;

	x2apic_enable();
	x2apic_write_reg(APIC_TDCR, APIC_TDR_DIV_1);
	/* Spin with IRQs enabled: host IRQs then exit on any implementation. */
	sti();
	for (;;) {
		nr = READ_ONCE(guest_nr_pauses);
		if (READ_ONCE(guest_halt)) {
			/* Scheduled out until the timer fires. */
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
		GUEST_SYNC1(READ_ONCE(guest_nr_pauses));
	}
}

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

static void run_guest(struct kvm_vcpu *vcpu, bool halt, u64 nr,
		      struct spin *s)
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
	TEST_ASSERT_EQ(uc.args[0], nr);

	exits = vcpu_get_stat(vcpu, exits) - exits;
	named = named_exits(vcpu) - named;
	TEST_ASSERT(exits >= named, "%lu exits, of which %lu accounted for",
		    exits, named);
	s->nr_pauses = nr;
	s->pause_exits = exits - named;
	s->reloaded = reloads(vcpu) != reloaded;
	s->scheduled_in = preemptions(vcpu) != preempted;
	s->blocked = vcpu_get_stat(vcpu, halt_wait_ns) != wait_ns;
}

static void run_spin(struct kvm_vcpu *vcpu, u64 nr, const char *what,
		     struct spin *s)
{
	run_guest(vcpu, false, nr, s);
	snprintf(why, sizeof(why), "%s%lu PAUSEs: %lu PAUSE exits%s", what,
		 s->nr_pauses, s->pause_exits,
		 s->reloaded || s->scheduled_in ? ", disturbed" : "");
}

/*
 * Three and a half counts take a PAUSE exit: two reloads anywhere still
 * leave a whole count in one piece.
 */
static enum verdict pause_exit(struct kvm_vcpu *vcpu, const char *what,
			       struct spin *s)
{
	u64 nr = 3 * pause_filter_count + pause_filter_count / 2;

	run_spin(vcpu, nr, what, s);
	if (s->pause_exits)
		return PASS;
	return s->reloaded || s->scheduled_in ? RETRY : FAIL;
}

/* Sixteen counts: a handful of exits with PAUSE intercepted. */
static enum verdict disabled(struct kvm_vcpu *vcpu)
{
	struct spin s;

	run_spin(vcpu, 16 * pause_filter_count, "", &s);
	return s.pause_exits <= MAX_STRAY_EXITS ? PASS : FAIL;
}

static enum verdict filtering(struct kvm_vcpu *vcpu)
{
	struct spin s;

	return pause_exit(vcpu, "", &s);
}

/*
 * After PAUSE exits, fewer PAUSEs than the base count take none.  A sched-in
 * meanwhile shrinks the window back: no verdict then.
 */
static enum verdict grown_window(struct kvm_vcpu *vcpu)
{
	struct spin s1, s2;
	enum verdict v;

	v = pause_exit(vcpu, "", &s1);
	if (v != PASS)
		return v;
	run_spin(vcpu, pause_filter_count - 1, "then ", &s2);
	if (s2.pause_exits > MAX_STRAY_EXITS)
		return FAIL;
	return s1.scheduled_in || s2.scheduled_in ? RETRY : PASS;
}

/* After a sched-in at the base window, a spin takes a PAUSE exit. */
static enum verdict sched_in(struct kvm_vcpu *vcpu)
{
	struct spin s;

	run_guest(vcpu, true, 0, &s);
	snprintf(why, sizeof(why), "HLT did not block");
	return s.blocked ? pause_exit(vcpu, "after HLT, ", &s) : RETRY;
}

static struct kvm_vm *create_vm(struct kvm_vcpu **vcpu, bool disable_pause)
{
	struct kvm_vm *vm = vm_create(1);
	struct spin s;

	/* KVM_CAP_X86_DISABLE_EXITS must be enabled before vCPUs exist. */
	if (disable_pause)
		vm_enable_cap(vm, KVM_CAP_X86_DISABLE_EXITS,
			      KVM_X86_DISABLE_EXITS_PAUSE);
	/* Block in HLT rather than poll, so that halting schedules out. */
	vm_enable_cap(vm, KVM_CAP_HALT_POLL, 0);
	*vcpu = vm_vcpu_add(vm, 0, guest_code);
	vm_install_exception_handler(vm, TIMER_VECTOR, guest_timer_handler);
	/* Fault the guest's pages in before any spin. */
	run_guest(*vcpu, false, 0, &s);
	return vm;
}

static void run_case(const char *name, bool disable_pause,
		     enum verdict (*fn)(struct kvm_vcpu *vcpu))
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	enum verdict v;
	int try;

	for (try = 1; try <= MAX_TRIES; try++) {
		vm = create_vm(&vcpu, disable_pause);
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
	int thresh;

	TEST_REQUIRE(host_cpu_is_amd_compatible);
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_X86_DISABLE_EXITS) &
		     KVM_X86_DISABLE_EXITS_PAUSE);
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_HALT_POLL));

	pause_filter_count = get_kvm_amd_param_integer("pause_filter_count");
	thresh = get_kvm_amd_param_integer("pause_filter_thresh");
	__TEST_REQUIRE(pause_filter_count,
		       "PAUSE filtering off: pause_filter_count=0");
	__TEST_REQUIRE(!thresh || thresh >= MIN_THRESH,
		       "pause_filter_thresh=%d is below %d",
		       thresh, MIN_THRESH);
	pin_self_to_any_cpu();

	ksft_print_header();
	ksft_set_plan(4);
	ksft_print_msg("pause_filter_count=%lu, %s mode\n", pause_filter_count,
		       thresh ? "threshold" : "count-only");
	run_case("KVM_X86_DISABLE_EXITS_PAUSE", true, disabled);
	run_case("PAUSE exits", false, filtering);
	run_case("grown window", false, grown_window);
	run_case("sched-in", false, sched_in);
	ksft_finished();
}
