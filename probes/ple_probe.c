// SPDX-License-Identifier: GPL-2.0-only
/*
 * ple_probe: a calibration probe for the CPU that runs KVM (e.g. an
 * emulated AMD CPU), not a test of the series.  A guest with interrupts
 * disabled runs "1: pause; dec; jnz 1b" passes between two RDTSCs, and the
 * host reads the vCPU's exit stats around each run.  One test point and
 * one line per measurement, e.g.
 *
 *   # PROBE: cost: passes=1000 tsc=3006 cycles_per_pass=3.006 ...
 *
 *   cost         TSC cycles and ns per pass, short spins taking no exit
 *   intr_noexit  a ~100 ms spin with PAUSE exits disabled: interrupt exits
 *   intr_ple     the same spin with PAUSE interception on
 *   pause        100,000 passes with the loaded kvm_amd params
 *
 * exits is every VM exit of the run but the final ucall's own I/O exit;
 * ms is guest TSC time at KVM_GET_TSC_KHZ.  Figures are reported, never
 * checked: every measurement passes.
 */
#include <stdio.h>
#include <string.h>

#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"

#define NR_COST_PASSES		1000ULL
#define NR_COST_TRIES		5
#define NR_PAUSE_PASSES		100000ULL
#define INTR_MS			100ULL

static u64 guest_passes;

static void guest_code(void)
{
	u64 nr, t0;

	cli();
	for (;;) {
		nr = READ_ONCE(guest_passes);
		t0 = rdtsc();
		asm volatile("1: pause\n\t"
			     "dec %0\n\t"
			     "jnz 1b"
			     : "+r"(nr) : : "memory");
		GUEST_SYNC(rdtsc() - t0);
	}
}

struct spin {
	u64 passes;
	u64 tsc;
	u64 exits;
	u64 irq_exits;
	u64 pause_exits;
	u64 preempted;
};

static u64 tsc_khz;

static u64 vcpu_preemptions(struct kvm_vcpu *vcpu)
{
	return vcpu_get_stat(vcpu, preemption_reported) +
	       vcpu_get_stat(vcpu, preemption_other);
}

/* Run @passes passes and record the TSC delta and what the stats did. */
static void spin(struct kvm_vcpu *vcpu, u64 passes, struct spin *s)
{
	struct ucall uc;

	WRITE_AND_SYNC_TO_GUEST(vcpu->vm, guest_passes, passes);
	s->passes = passes;
	s->exits = vcpu_get_stat(vcpu, exits);
	s->irq_exits = vcpu_get_stat(vcpu, irq_exits);
	s->pause_exits = vcpu_get_stat(vcpu, pause_exits);
	s->preempted = vcpu_preemptions(vcpu);

	vcpu_run(vcpu);

	s->exits = vcpu_get_stat(vcpu, exits) - s->exits - 1;
	s->irq_exits = vcpu_get_stat(vcpu, irq_exits) - s->irq_exits;
	s->pause_exits = vcpu_get_stat(vcpu, pause_exits) - s->pause_exits;
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
	spin(*vcpu, 1, &s);
	return vm;
}

static bool vcpu_has_stat(struct kvm_vcpu *vcpu, const char *name)
{
	struct kvm_binary_stats *stats = &vcpu->stats;
	int i;

	(void)vcpu_get_stat(vcpu, exits);	/* reads the descriptors */
	for (i = 0; i < stats->header.num_desc; i++)
		if (!strcmp(get_stats_descriptor(stats->desc, i,
						 &stats->header)->name, name))
			return true;
	return false;
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
		spin(vcpu, NR_COST_PASSES, &s);
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

/* A spin of about INTR_MS of guest TSC time, at the measured cost. */
static void probe_intr(struct kvm_vcpu *vcpu, const char *name,
		       const struct spin *cost)
{
	u64 passes = INTR_MS * tsc_khz * cost->passes / cost->tsc;
	struct spin s;
	double ms;

	spin(vcpu, passes, &s);
	ms = tsc_ms(s.tsc);
	ksft_print_msg("PROBE: %s: passes=%lu tsc=%lu ms=%.3f exits=%lu irq_exits=%lu pause_exits=%lu preempted=%lu irq_per_100ms=%.2f\n",
		       name, s.passes, s.tsc, ms, s.exits, s.irq_exits,
		       s.pause_exits, s.preempted,
		       ms > 0 ? s.irq_exits * 100.0 / ms : 0.0);
	ksft_test_result_pass("%s\n", name);
}

static void probe_pause(struct kvm_vcpu *vcpu)
{
	struct spin s;

	spin(vcpu, NR_PAUSE_PASSES, &s);
	ksft_print_msg("PROBE: pause: passes=%lu tsc=%lu exits=%lu irq_exits=%lu pause_exits=%lu preempted=%lu pause_filter_count=%d pause_filter_thresh=%d cpuid_pfthreshold=%d cpuinfo_pfthreshold=%d\n",
		       s.passes, s.tsc, s.exits, s.irq_exits, s.pause_exits,
		       s.preempted,
		       get_kvm_amd_param_integer("pause_filter_count"),
		       get_kvm_amd_param_integer("pause_filter_thresh"),
		       this_cpu_has(X86_FEATURE_PFTHRESHOLD),
		       cpuinfo_has("pfthreshold"));
	ksft_test_result_pass("pause\n");
}

/* Only the series' kernel counts PAUSE exits. */
static void require_pause_exits_stat(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	bool has_stat;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	has_stat = vcpu_has_stat(vcpu, "pause_exits");
	kvm_vm_free(vm);
	__TEST_REQUIRE(has_stat, "No 'pause_exits' vCPU stat (kernel without the series)");
}

int main(int argc, char *argv[])
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct spin cost;
	int r;

	TEST_REQUIRE(host_cpu_is_amd_compatible);
	__TEST_REQUIRE(this_cpu_has(X86_FEATURE_PAUSEFILTER),
		       "CPU lacks PauseFilter (CPUID 0x8000000A EDX[10])");
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_X86_DISABLE_EXITS) &
		     KVM_X86_DISABLE_EXITS_PAUSE);
	require_pause_exits_stat();

	ksft_print_header();
	ksft_set_plan(4);

	vm = create_vm(&vcpu, false);
	r = __vcpu_ioctl(vcpu, KVM_GET_TSC_KHZ, NULL);
	TEST_ASSERT(r > 0, KVM_IOCTL_ERROR(KVM_GET_TSC_KHZ, r));
	tsc_khz = r;
	probe_cost(vcpu, &cost);
	probe_intr(vcpu, "intr_noexit", &cost);
	kvm_vm_free(vm);

	vm = create_vm(&vcpu, true);
	probe_intr(vcpu, "intr_ple", &cost);
	kvm_vm_free(vm);

	vm = create_vm(&vcpu, true);
	probe_pause(vcpu);
	kvm_vm_free(vm);

	ksft_finished();
}
