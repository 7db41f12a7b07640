// SPDX-License-Identifier: GPL-2.0-only
/*
 * ple_probe: a calibration probe for the CPU that runs KVM (e.g. an
 * emulated AMD or Intel CPU), not a test of the series: it runs on any
 * kernel, v7.3-rc7 included.  A guest runs "1: pause; dec; jnz 1b" passes
 * between two RDTSCs, with interrupts disabled (IF=0) or enabled (IF=1),
 * and the host reads the vCPU's exit stats around each run.  One test
 * point and one line per measurement, e.g.
 *
 *   # PROBE: cost: passes=1000 tsc=3006 cycles_per_pass=3.006 ...
 *
 *   cost     TSC cycles and ns per pass, short spins taking no exit
 *   intr_if0 a ~100 ms spin with IF=0, PAUSE exits disabled: interrupt exits
 *   intr_if1 the same spin with IF=1
 *   pause    100,000 passes with IF=1 and the loaded kvm_amd (kvm_intel)
 *            params: PAUSE exits
 *
 * exits is every VM exit of the run but the final ucall's own I/O exit;
 * PAUSE exits are counted as exits - irq_exits (in a tight PAUSE spin the
 * rest are the host's interrupts; the kernel has no PAUSE-exit stat);
 * ms is guest TSC time at KVM_GET_TSC_KHZ.  Figures are reported, never
 * checked: every measurement passes.
 *
 * Why IF=1: hardware exits a guest on every host interrupt whatever the
 * guest's RFLAGS.IF (SVM with V_INTR_MASKING, VMX with external-interrupt
 * exiting), but Bochs masks host interrupts in guest mode with the
 * guest's IF.  So a spin that must see the host tick, as it would on
 * hardware, runs with IF=1; nothing in these VMs arms a guest timer or
 * sends the guest an interrupt, so none is delivered to it.  intr_if0
 * shows the emulator's deviation (no exits there).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"

#define NR_COST_PASSES		1000ULL
#define NR_COST_TRIES		5
#define NR_PAUSE_PASSES		100000ULL
#define INTR_MS			100ULL
#define DRAIN_US		200000

static u64 guest_passes;
static bool guest_if;

static void guest_code(void)
{
	u64 nr, t0, t1;

	for (;;) {
		nr = READ_ONCE(guest_passes);
		/* IF=1: the host's interrupts exit the spin (see the top). */
		if (READ_ONCE(guest_if))
			sti();
		else
			cli();
		t0 = rdtsc();
		asm volatile("1: pause\n\t"
			     "dec %0\n\t"
			     "jnz 1b"
			     : "+r"(nr) : : "memory");
		t1 = rdtsc();
		cli();
		GUEST_SYNC(t1 - t0);
	}
}

struct spin {
	u64 passes;
	u64 tsc;
	u64 exits;
	u64 irq_exits;
	u64 preempted;
};

static u64 tsc_khz;

static u64 vcpu_preemptions(struct kvm_vcpu *vcpu)
{
	return vcpu_get_stat(vcpu, preemption_reported) +
	       vcpu_get_stat(vcpu, preemption_other);
}

/*
 * Run @passes passes with the guest's IF = @if_on and record the TSC delta
 * and what the stats did.
 */
static void spin(struct kvm_vcpu *vcpu, u64 passes, bool if_on, struct spin *s)
{
	struct ucall uc;

	WRITE_AND_SYNC_TO_GUEST(vcpu->vm, guest_passes, passes);
	WRITE_AND_SYNC_TO_GUEST(vcpu->vm, guest_if, if_on);
	s->passes = passes;
	s->exits = vcpu_get_stat(vcpu, exits);
	s->irq_exits = vcpu_get_stat(vcpu, irq_exits);
	s->preempted = vcpu_preemptions(vcpu);

	vcpu_run(vcpu);

	/* Less the final ucall's own I/O exit. */
	s->exits = vcpu_get_stat(vcpu, exits) - s->exits - 1;
	s->irq_exits = vcpu_get_stat(vcpu, irq_exits) - s->irq_exits;
	s->preempted = vcpu_preemptions(vcpu) - s->preempted;

	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_SYNC:
		s->tsc = uc.args[1];
		break;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
		break;
	default:
		TEST_FAIL("Unexpected ucall %lu", uc.cmd);
	}
}

/* PAUSE exits, or any other, of a spin: what is not a host interrupt. */
static u64 other_exits(const struct spin *s)
{
	return s->exits >= s->irq_exits ? s->exits - s->irq_exits : 0;
}

static double tsc_ms(u64 tsc)
{
	return (double)tsc / tsc_khz;
}

static struct kvm_vm *create_vm(struct kvm_vcpu **vcpu, bool pause_exiting)
{
	struct kvm_vm *vm = vm_create(1);
	struct spin s;

	if (!pause_exiting)
		vm_enable_cap(vm, KVM_CAP_X86_DISABLE_EXITS,
			      KVM_X86_DISABLE_EXITS_PAUSE);
	*vcpu = vm_vcpu_add(vm, 0, guest_code);
	/* Fault in the guest's code and data before anything is measured. */
	spin(*vcpu, 1, false, &s);
	return vm;
}

/* Whether the kernel's view of the CPU (after clearcpuid=) has @flag. */
static bool cpuinfo_has(const char *flag)
{
	static char line[8192];
	bool found = false;
	char *tok;
	FILE *f;

	f = fopen("/proc/cpuinfo", "r");
	TEST_ASSERT(f, "Failed to open /proc/cpuinfo");
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		for (tok = strtok(line, " \t\n:"); tok && !found;
		     tok = strtok(NULL, " \t\n"))
			found = !strcmp(tok, flag);
		break;
	}
	fclose(f);
	return found;
}

/* The cheapest of a few short spins: nothing but the loop itself. */
static void probe_cost(struct kvm_vcpu *vcpu, struct spin *best)
{
	struct spin s;
	int i;

	for (i = 0; i < NR_COST_TRIES; i++) {
		spin(vcpu, NR_COST_PASSES, false, &s);
		if (!i || s.tsc < best->tsc)
			*best = s;
	}
	TEST_ASSERT(best->tsc, "Expected a TSC delta, got 0");
	ksft_print_msg("PROBE: cost: passes=%lu tsc=%lu cycles_per_pass=%.3f ns_per_pass=%.3f exits=%lu tsc_khz=%lu tsc_src=KVM_GET_TSC_KHZ\n",
		       best->passes, best->tsc, (double)best->tsc / best->passes,
		       tsc_ms(best->tsc) * 1e6 / best->passes, best->exits,
		       tsc_khz);
	ksft_test_result_pass("cost\n");
}

/*
 * Let the lines printed so far leave the serial console before a spin
 * with IF=1: the emulated UART interrupts the host for every few bytes it
 * sends, those interrupts would exit the spin too, and the runner's
 * output filter woken by them could preempt the vCPU.
 */
static void drain_console(void)
{
	fflush(stdout);
	usleep(DRAIN_US);
}

/*
 * A spin of about INTR_MS of guest TSC time, at the measured cost, with
 * the guest's IF = @if_on and PAUSE exits disabled: its exits are the
 * host's interrupts (other_exits 0).
 */
static void probe_intr(struct kvm_vcpu *vcpu, const char *name, bool if_on,
		       const struct spin *cost)
{
	u64 passes = INTR_MS * tsc_khz * cost->passes / cost->tsc;
	struct spin s;
	double ms;

	drain_console();
	spin(vcpu, passes, if_on, &s);
	ms = tsc_ms(s.tsc);
	ksft_print_msg("PROBE: %s: if=%d passes=%lu tsc=%lu ms=%.3f exits=%lu irq_exits=%lu other_exits=%lu preempted=%lu irq_per_100ms=%.2f\n",
		       name, if_on, s.passes, s.tsc, ms, s.exits, s.irq_exits,
		       other_exits(&s), s.preempted,
		       ms > 0 ? s.irq_exits * 100.0 / ms : 0.0);
	ksft_test_result_pass("%s\n", name);
}

/* The loaded PAUSE-exiting parameters, for the pause line. */
static void pause_params(char *buf, size_t len)
{
	if (host_cpu_is_intel)
		snprintf(buf, len, "ple_gap=%d ple_window=%d",
			 get_kvm_intel_param_integer("ple_gap"),
			 get_kvm_intel_param_integer("ple_window"));
	else
		snprintf(buf, len, "pause_filter_count=%d pause_filter_thresh=%d cpuid_pausefilter=%d cpuid_pfthreshold=%d cpuinfo_pfthreshold=%d",
			 get_kvm_amd_param_integer("pause_filter_count"),
			 get_kvm_amd_param_integer("pause_filter_thresh"),
			 this_cpu_has(X86_FEATURE_PAUSEFILTER),
			 this_cpu_has(X86_FEATURE_PFTHRESHOLD),
			 cpuinfo_has("pfthreshold"));
}

/* 100,000 passes with IF=1, PAUSE exiting as the module params say. */
static void probe_pause(struct kvm_vcpu *vcpu)
{
	char params[256];
	struct spin s;

	drain_console();
	spin(vcpu, NR_PAUSE_PASSES, true, &s);
	pause_params(params, sizeof(params));
	ksft_print_msg("PROBE: pause: if=1 passes=%lu tsc=%lu exits=%lu irq_exits=%lu pause_exits=%lu preempted=%lu %s\n",
		       s.passes, s.tsc, s.exits, s.irq_exits, other_exits(&s),
		       s.preempted, params);
	ksft_test_result_pass("pause\n");
}

int main(int argc, char *argv[])
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct spin cost;
	int r;

	TEST_REQUIRE(kvm_check_cap(KVM_CAP_X86_DISABLE_EXITS) &
		     KVM_X86_DISABLE_EXITS_PAUSE);

	ksft_print_header();
	ksft_set_plan(4);

	vm = create_vm(&vcpu, false);
	r = __vcpu_ioctl(vcpu, KVM_GET_TSC_KHZ, NULL);
	TEST_ASSERT(r > 0, KVM_IOCTL_ERROR(KVM_GET_TSC_KHZ, r));
	tsc_khz = r;
	probe_cost(vcpu, &cost);
	probe_intr(vcpu, "intr_if0", false, &cost);
	probe_intr(vcpu, "intr_if1", true, &cost);
	kvm_vm_free(vm);

	vm = create_vm(&vcpu, true);
	probe_pause(vcpu);
	kvm_vm_free(vm);

	ksft_finished();
}
