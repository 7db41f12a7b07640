// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test SVM's PAUSE intercept filtering as KVM programs it.
 *
 * VMRUN loads the VMCB's pause filter count, each PAUSE decrements it, and
 * the PAUSE that exhausts it exits.  KVM starts a vCPU at pause_filter_count,
 * grows the vCPU's count on each PAUSE exit (pause_filter_count_grow, up to
 * pause_filter_count_max) and shrinks it (pause_filter_count_shrink) when
 * the vCPU thread is scheduled back in, never below pause_filter_count.
 * KVM_X86_DISABLE_EXITS_PAUSE turns the intercept off.
 *
 * A guest that only spins on PAUSE takes no VM-Exit but PAUSE exits, host
 * interrupts (irq_exits) and its ucall, so the rest of "exits" are PAUSE
 * exits.  Spins are a number of counts plus half the next, so CPUs that
 * exit on the PAUSE after the count agree.  Any VM-Exit reloads the count,
 * and a preemption of the vCPU thread shrinks it: a spin that took a host
 * interrupt or a preemption is tried again, on a new VM.  Under a
 * hypervisor, its own VM-Exits reload the count unseen, so a spin with
 * fewer PAUSE exits than expected is tried again there too.  An exit that
 * no stat names (NMI, SMI) adds one, so a case fails only if two of its
 * tries are wrong; the bugs this test is for are wrong every time.
 *
 * The guest spins with IF=1: hardware takes host interrupts in guest mode
 * whatever the guest's IF, some emulators mask them with it.  No guest
 * interrupt is pending during a spin.
 */
#include "kvm_util.h"
#include "processor.h"
#include "apic.h"
#include "kselftest.h"

#define TIMER_VECTOR		0xec
#define APIC_TDCR_DIV_1		0xb
#define TIMER_NS		1000000	/* in APIC bus cycles: 1 ns each */
#define MAX_TRIES		10

enum verdict { RIGHT, WRONG, DISTURBED };

static u64 guest_halt_ns, guest_nr_pauses;

static struct {
	u64 count, grow, shrink, max, thresh;
	bool nested;
} pf;

static char why[160];

static void guest_timer_handler(struct ex_regs *regs)
{
	x2apic_write_reg(APIC_EOI, 0);
}

static void guest_code(void)
{
	u64 nr, ns, start;

	x2apic_enable();
	sti();
	for (;;) {
		nr = READ_ONCE(guest_nr_pauses);
		ns = READ_ONCE(guest_halt_ns);
		start = rdtsc();
		if (ns) {
			/* Block until the timer fires: KVM schedules out. */
			cli();
			x2apic_write_reg(APIC_LVTT, TIMER_VECTOR);
			x2apic_write_reg(APIC_TDCR, APIC_TDCR_DIV_1);
			x2apic_write_reg(APIC_TMICT, ns);
			safe_halt();
		} else {
			asm volatile("1: pause\n\t"
				     "dec %0\n\t"
				     "jnz 1b"
				     : "+r"(nr) : : "memory");
		}
		GUEST_SYNC(rdtsc() - start);
	}
}

/* The count after a PAUSE exit. */
static u64 grow(u64 w)
{
	u64 ret;

	if (!pf.grow)
		return pf.count;
	ret = pf.grow < pf.count ? w * pf.grow : w + pf.grow;
	return max(min(ret, pf.max), w);
}

/* The count after the vCPU thread is scheduled back in. */
static u64 shrink(u64 w)
{
	if (!pf.shrink)
		return pf.count;
	if (pf.shrink < pf.count)
		w /= pf.shrink;
	else
		w = w > pf.shrink ? w - pf.shrink : 0;
	return max(w, pf.count);
}

/* PAUSEs for @nr_exits PAUSE exits from count @w, and half the next count. */
static u64 spin_len(u64 w, int nr_exits)
{
	u64 nr = 0;

	for (; nr_exits; nr_exits--) {
		nr += w;
		w = grow(w);
	}
	return nr + w / 2;
}

struct delta {
	u64 pause_exits, irq_exits, preempted, wakeups, tsc;
};

static u64 preemptions(struct kvm_vcpu *vcpu)
{
	return vcpu_get_stat(vcpu, preemption_reported) +
	       vcpu_get_stat(vcpu, preemption_other);
}

static void guest_run(struct kvm_vcpu *vcpu, u64 halt_ns, u64 nr, struct delta *d)
{
	u64 exits = vcpu_get_stat(vcpu, exits);
	u64 irq_exits = vcpu_get_stat(vcpu, irq_exits);
	u64 preempted = preemptions(vcpu);
	u64 wakeups = vcpu_get_stat(vcpu, halt_wakeup);
	struct ucall uc;

	WRITE_AND_SYNC_TO_GUEST(vcpu->vm, guest_halt_ns, halt_ns);
	WRITE_AND_SYNC_TO_GUEST(vcpu->vm, guest_nr_pauses, nr);
	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	if (get_ucall(vcpu, &uc) == UCALL_ABORT)
		REPORT_GUEST_ASSERT(uc);
	TEST_ASSERT_EQ(uc.cmd, UCALL_SYNC);

	d->irq_exits = vcpu_get_stat(vcpu, irq_exits) - irq_exits;
	d->pause_exits = vcpu_get_stat(vcpu, exits) - exits - d->irq_exits - 1;
	d->preempted = preemptions(vcpu) - preempted;
	d->wakeups = vcpu_get_stat(vcpu, halt_wakeup) - wakeups;
	d->tsc = uc.args[1];
}

/* A spin of @nr_exits counts and a half from count *@w, the count updated. */
static enum verdict spin(struct kvm_vcpu *vcpu, u64 *w, u64 nr_exits)
{
	u64 nr = spin_len(*w, nr_exits);
	struct delta d;

	guest_run(vcpu, 0, nr, &d);
	snprintf(why, sizeof(why),
		 "%lu PAUSEs from count %lu: %lu PAUSE exits, expected %lu (%lu IRQ exits, %lu preemptions)",
		 nr, *w, d.pause_exits, nr_exits, d.irq_exits, d.preempted);
	if (d.irq_exits || d.preempted || (pf.nested && d.pause_exits < nr_exits))
		return DISTURBED;
	if (d.pause_exits != nr_exits)
		return WRONG;
	for (; nr_exits; nr_exits--)
		*w = grow(*w);
	return RIGHT;
}

/* Block in HLT; the count shrinks when the vCPU thread is scheduled in. */
static enum verdict halt(struct kvm_vcpu *vcpu, u64 *w, u64 ns)
{
	struct delta d;

	guest_run(vcpu, ns, 0, &d);
	if (!d.wakeups || d.preempted)
		return DISTURBED;
	*w = shrink(*w);
	return RIGHT;
}

static enum verdict disabled(struct kvm_vcpu *vcpu)
{
	struct delta d;
	u64 nr = 4 * 65536;

	guest_run(vcpu, 0, nr, &d);
	snprintf(why, sizeof(why), "%lu PAUSEs: %lu PAUSE exits", nr, d.pause_exits);
	return d.pause_exits ? WRONG : RIGHT;
}

/*
 * Two counts and a half: a VM-Exit anywhere in the spin, seen or not,
 * leaves a whole count on one side of it.
 */
static enum verdict exits_at_all(struct kvm_vcpu *vcpu)
{
	u64 nr = spin_len(pf.count, 2);
	struct delta d;

	guest_run(vcpu, 0, nr, &d);
	snprintf(why, sizeof(why), "%lu PAUSEs from count %lu: %lu PAUSE exits",
		 nr, pf.count, d.pause_exits);
	if (d.pause_exits)
		return RIGHT;
	return d.irq_exits + d.preempted > 1 ? DISTURBED : WRONG;
}

static enum verdict base_and_grown(struct kvm_vcpu *vcpu)
{
	u64 w = pf.count;
	enum verdict v = spin(vcpu, &w, 1);

	return v == RIGHT ? spin(vcpu, &w, 1) : v;
}

static enum verdict sched_in(struct kvm_vcpu *vcpu)
{
	u64 w = pf.count;
	enum verdict v = halt(vcpu, &w, TIMER_NS);

	if (v == RIGHT)
		v = spin(vcpu, &w, 1);
	if (v == RIGHT)
		v = halt(vcpu, &w, TIMER_NS);
	return v == RIGHT ? spin(vcpu, &w, 1) : v;
}

static struct kvm_vm *create_vm(struct kvm_vcpu **vcpu, bool disable_pause)
{
	struct kvm_vm *vm = vm_create(1);
	struct delta d;

	if (disable_pause)
		vm_enable_cap(vm, KVM_CAP_X86_DISABLE_EXITS,
			      KVM_X86_DISABLE_EXITS_PAUSE);
	/* Block in HLT rather than poll, so that halting schedules out. */
	vm_enable_cap(vm, KVM_CAP_HALT_POLL, 0);
	*vcpu = vm_vcpu_add(vm, 0, guest_code);
	vm_install_exception_handler(vm, TIMER_VECTOR, guest_timer_handler);
	/* Fault in the guest's code and data. */
	guest_run(*vcpu, 0, 1, &d);
	return vm;
}

static void run_case(const char *name, bool disable_pause,
		     enum verdict (*fn)(struct kvm_vcpu *vcpu))
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int try, wrong = 0;
	enum verdict v;
	u64 w;

	for (try = 0; try < MAX_TRIES; try++) {
		vm = create_vm(&vcpu, disable_pause);
		/*
		 * Each try starts at another phase of the host's tick: creating
		 * and freeing VMs waits for ticks, so tries would otherwise
		 * start, and be disturbed, at the same point.  Waking from HLT
		 * leaves the vCPU at the base count.
		 */
		w = pf.count;
		v = halt(vcpu, &w, TIMER_NS + try * TIMER_NS / 3);
		if (v == RIGHT)
			v = fn(vcpu);
		kvm_vm_free(vm);
		if (v == RIGHT) {
			ksft_test_result_pass("%s: %s, try %d\n", name, why, try + 1);
			return;
		}
		if (v == WRONG && ++wrong == 2) {
			ksft_test_result_fail("%s: %s, try %d\n", name, why, try + 1);
			return;
		}
	}
	ksft_test_result_skip("%s: disturbed %d times, last: %s\n", name,
			      MAX_TRIES - wrong, why);
}

/* Whether the guest's PAUSEs come closer together than the threshold. */
static bool pauses_within_thresh(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct delta d;
	u64 nr = pf.count / 2;

	if (!pf.thresh)
		return true;
	vm = create_vm(&vcpu, true);
	guest_run(vcpu, 0, nr, &d);
	kvm_vm_free(vm);
	snprintf(why, sizeof(why),
		 "PAUSEs %lu TSC cycles apart, pause_filter_thresh %lu",
		 d.tsc / nr, pf.thresh);
	return d.tsc / nr < pf.thresh;
}

static const struct {
	const char *name;
	enum verdict (*fn)(struct kvm_vcpu *vcpu);
} cases[] = {
	{ "PAUSE exits", exits_at_all },
	{ "base and grown count", base_and_grown },
	{ "sched-in", sched_in },
};

int main(int argc, char *argv[])
{
	const char *off = NULL;
	int i;

	TEST_REQUIRE(host_cpu_is_amd_compatible);
	__TEST_REQUIRE(this_cpu_has(X86_FEATURE_PAUSEFILTER),
		       "CPU lacks PauseFilter (CPUID 0x8000000A EDX[10])");
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_X86_DISABLE_EXITS) &
		     KVM_X86_DISABLE_EXITS_PAUSE);
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_HALT_POLL));

	pf.count = get_kvm_amd_param_integer("pause_filter_count");
	pf.grow = get_kvm_amd_param_integer("pause_filter_count_grow");
	pf.shrink = get_kvm_amd_param_integer("pause_filter_count_shrink");
	pf.max = get_kvm_amd_param_integer("pause_filter_count_max");
	pf.thresh = get_kvm_amd_param_integer("pause_filter_thresh");
	pf.nested = this_cpu_has(X86_FEATURE_HYPERVISOR);
	pin_self_to_any_cpu();

	ksft_print_header();
	ksft_set_plan(1 + ARRAY_SIZE(cases));
	ksft_print_msg("pause_filter_count %lu grow %lu shrink %lu max %lu thresh %lu%s\n",
		       pf.count, pf.grow, pf.shrink, pf.max, pf.thresh,
		       pf.nested ? ", under a hypervisor" : "");

	run_case("KVM_X86_DISABLE_EXITS_PAUSE", true, disabled);

	if (!pf.count)
		off = "PAUSE intercept off: pause_filter_count=0";
	else if (!pf.thresh && this_cpu_has(X86_FEATURE_PFTHRESHOLD))
		off = "PAUSE intercept off: pause_filter_thresh=0 with PFThreshold";
	else if (!pauses_within_thresh())
		off = why;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		if (off)
			ksft_test_result_skip("%s: %s\n", cases[i].name, off);
		else
			run_case(cases[i].name, false, cases[i].fn);
	}
	ksft_finished();
}
