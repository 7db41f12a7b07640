// SPDX-License-Identifier: GPL-2.0-only
/*
 * ple_bench: what PAUSE filtering buys and costs, measured in guest TSC
 * cycles.  A benchmark, not a test: it asserts nothing about time, and
 * every measurement passes.  Run by scripts/bench.sh (make bench) in the
 * emulated host, once per kvm_amd parameter set.
 *
 *   handoff  a ticket spinlock passed around by 2 or 4 vCPUs, each on a
 *            thread of its own, on a host with one CPU (2:1 and 4:1
 *            overcommit).  Waiters spin with PAUSE and interrupts enabled;
 *            the holder runs a fixed critical section.  The run lasts a
 *            fixed span of guest TSC time from the first acquisition; the
 *            guest records the TSC at every hand-off (an acquisition by
 *            another vCPU than the last holder).
 *   wait     one vCPU, alone, busy-waits on the TSC with PAUSE in the loop
 *            (interrupts enabled) for 1, 10 and 100 ms: PAUSE exits, and
 *            loop passes against the same wait with PAUSE exits disabled
 *            (cycles lost to exits).
 *
 * Interrupts are enabled (IF=1) in the spins so that the host's tick exits
 * them as on hardware: SVM with V_INTR_MASKING (VMX with external-interrupt
 * exiting) exits on every host interrupt whatever the guest's IF, but Bochs
 * masks host interrupts in guest mode with the guest's RFLAGS.IF.  Nothing
 * in these VMs arms a guest timer or sends the guest an interrupt.
 *
 * PAUSE exits are counted as exits - irq_exits, less each vCPU's final
 * ucall (the kernel has no PAUSE-exit stat): in these spins the other
 * exits are the host's interrupts.
 * Each measurement runs twice per boot where it can: with PAUSE exiting
 * disabled on the VM (KVM_CAP_X86_DISABLE_EXITS with
 * KVM_X86_DISABLE_EXITS_PAUSE, "nofilter") and with the loaded kvm_amd
 * parameters ("fixed" when pause_filter_count_grow is 0, else "growing").
 * On a CPU without PFThreshold, "nofilter" is what v7.3-rc7 does for every
 * VM: its svm_vm_init() calls kvm_disable_exits(kvm, PAUSE) when
 * pause_filter_thresh is 0, i.e. exactly what the capability does, and the
 * rest of the kernel is the same.  Any kernel runs it, v7.3-rc7 included
 * (there, on a CPU without PFThreshold, "growing" gets no PAUSE exit).
 *
 * Options come from the kernel command line, since the kselftest runner
 * passes none: ple.bench=FLAG[,FLAG...] with
 *   full    the full run (the default)
 *   short   short hand-off spans (a smoke run)
 *   nobase  no "nofilter" hand-off runs (the reference waits still run)
 * The same flags are accepted as arguments (./ple_bench short nobase).
 *
 * Output, one line per measurement, parsed by scripts/bench.sh:
 *   # BENCH: info: policy=growing pause_filter_count=3000 ...
 *   # BENCH: handoff: mode=growing vcpus=2 handoffs=... cyc_median=... ...
 *   # BENCH: wait: mode=growing ms=100 passes=... pause_exits=... ...
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"

#define MAX_VCPUS		4
#define MAX_STAMPS		8192
#define CS_ITERS		1000
#define HANDOFF_MS_FULL		400
#define HANDOFF_MS_SHORT	40
#define EXTRA_PAGES		64

static const int nr_vcpus_list[] = { 2, 4 };
static const u64 wait_ms_list[] = { 1, 10, 100 };

/* Shared by the lock's vCPUs, in guest memory; copied in and out. */
struct lock_shared {
	u32 next;		/* next ticket to take */
	u32 serving;		/* ticket that holds the lock */
	u32 ready;		/* vCPUs at the start barrier */
	u32 nr_vcpus;
	u32 stop;
	u32 last_holder;
	u64 cs_iters;
	u64 span;		/* TSC cycles from the first acquisition */
	u64 t_start;
	u64 acquisitions;
	u64 handoffs;
	u64 acq[MAX_VCPUS];
	u64 stamp[MAX_STAMPS];	/* TSC at the first MAX_STAMPS hand-offs */
};

static struct lock_shared ls;

/* The busy-wait of one vCPU. */
struct wait_shared {
	u64 cycles;
	u64 passes;
	u64 tsc;
};

static struct wait_shared ws;

static inline void critical_section(u64 iters)
{
	asm volatile("1: nop\n\t"
		     "dec %0\n\t"
		     "jnz 1b"
		     : "+r"(iters) : : "memory");
}

static void lock_guest_code(u32 id)
{
	u32 me;
	u64 now;

	/* IF=1: the host's interrupts exit the waiters (see the top). */
	sti();
	/* Nobody takes a ticket before every vCPU runs. */
	__atomic_fetch_add(&ls.ready, 1, __ATOMIC_SEQ_CST);
	while (READ_ONCE(ls.ready) < ls.nr_vcpus)
		asm volatile("pause" ::: "memory");

	for (;;) {
		me = __atomic_fetch_add(&ls.next, 1, __ATOMIC_SEQ_CST);
		while (__atomic_load_n(&ls.serving, __ATOMIC_ACQUIRE) != me)
			asm volatile("pause" ::: "memory");

		if (ls.stop) {
			__atomic_store_n(&ls.serving, me + 1, __ATOMIC_RELEASE);
			break;
		}
		now = rdtsc();
		if (!ls.acquisitions) {
			ls.t_start = now;
		} else if (ls.last_holder != id) {
			if (ls.handoffs < MAX_STAMPS)
				ls.stamp[ls.handoffs] = now;
			ls.handoffs++;
		}
		ls.last_holder = id;
		ls.acquisitions++;
		ls.acq[id]++;
		if (now - ls.t_start >= ls.span)
			ls.stop = 1;
		critical_section(ls.cs_iters);
		__atomic_store_n(&ls.serving, me + 1, __ATOMIC_RELEASE);
	}
	GUEST_DONE();
}

static void wait_guest_code(void)
{
	u64 passes = 0, t0, end;

	/* IF=1: the host's interrupts exit the busy-wait (see the top). */
	sti();
	GUEST_SYNC(0);	/* faults the code and data in, unmeasured */
	t0 = rdtsc();
	end = t0 + READ_ONCE(ws.cycles);
	do {
		asm volatile("pause" ::: "memory");
		passes++;
	} while (rdtsc() < end);
	ws.tsc = rdtsc() - t0;
	ws.passes = passes;
	GUEST_DONE();
}

struct exit_stats {
	u64 exits;
	u64 irq_exits;
	u64 pause_exits;
	u64 yields;
	u64 yields_ok;
	u64 preempted;
};

static void read_stats(struct kvm_vcpu *vcpu, struct exit_stats *s)
{
	s->exits = vcpu_get_stat(vcpu, exits);
	s->irq_exits = vcpu_get_stat(vcpu, irq_exits);
	s->yields = vcpu_get_stat(vcpu, directed_yield_attempted);
	s->yields_ok = vcpu_get_stat(vcpu, directed_yield_successful);
	s->preempted = vcpu_get_stat(vcpu, preemption_reported) +
		       vcpu_get_stat(vcpu, preemption_other);
}

static void add_stats(struct exit_stats *sum, const struct exit_stats *s)
{
	sum->exits += s->exits;
	sum->irq_exits += s->irq_exits;
	sum->pause_exits += s->pause_exits;
	sum->yields += s->yields;
	sum->yields_ok += s->yields_ok;
	sum->preempted += s->preempted;
}

static u64 tsc_khz;
static const char *policy;
static bool opt_short, opt_nobase;

static struct kvm_vm *create_vm(int nr_vcpus, bool filtering)
{
	struct kvm_vm *vm = __vm_create(VM_SHAPE_DEFAULT, nr_vcpus, EXTRA_PAGES);

	if (!filtering)
		vm_enable_cap(vm, KVM_CAP_X86_DISABLE_EXITS,
			      KVM_X86_DISABLE_EXITS_PAUSE);
	return vm;
}

static const char *mode_name(bool filtering)
{
	return filtering ? policy : "nofilter";
}

static void *vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct ucall uc;

	for (;;) {
		vcpu_run(vcpu);
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_DONE:
			return NULL;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
			break;
		default:
			TEST_FAIL("Unexpected ucall %lu", uc.cmd);
		}
	}
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* The @pct percentile of the @n sorted values @v. */
static u64 percentile(const u64 *v, u64 n, int pct)
{
	return n ? v[(n - 1) * pct / 100] : 0;
}

static void bench_handoff(int nr_vcpus, bool filtering, u64 span_ms)
{
	static u64 gaps[MAX_STAMPS];
	struct kvm_vcpu *vcpus[MAX_VCPUS];
	pthread_t threads[MAX_VCPUS];
	struct exit_stats sum = {}, s;
	u64 i, n, prev, span;
	struct kvm_vm *vm;

	vm = create_vm(nr_vcpus, filtering);
	for (i = 0; i < nr_vcpus; i++) {
		vcpus[i] = vm_vcpu_add(vm, i, lock_guest_code);
		vcpu_args_set(vcpus[i], 1, i);
	}
	memset(&ls, 0, sizeof(ls));
	ls.nr_vcpus = nr_vcpus;
	ls.cs_iters = CS_ITERS;
	ls.span = span_ms * tsc_khz;
	sync_global_to_guest(vm, ls);

	for (i = 0; i < nr_vcpus; i++)
		pthread_create(&threads[i], NULL, vcpu_thread, vcpus[i]);
	for (i = 0; i < nr_vcpus; i++)
		pthread_join(threads[i], NULL);

	for (i = 0; i < nr_vcpus; i++) {
		read_stats(vcpus[i], &s);
		/* The final ucall's own I/O exit is not a PAUSE exit. */
		s.exits--;
		s.pause_exits = s.exits - s.irq_exits;
		add_stats(&sum, &s);
	}
	sync_global_from_guest(vm, ls);
	kvm_vm_free(vm);

	/* Cycles from the previous hand-off (the first acquisition). */
	n = min_t(u64, ls.handoffs, MAX_STAMPS);
	for (i = 0, prev = ls.t_start; i < n; i++) {
		gaps[i] = ls.stamp[i] - prev;
		prev = ls.stamp[i];
	}
	qsort(gaps, n, sizeof(gaps[0]), cmp_u64);
	span = n ? ls.stamp[n - 1] - ls.t_start : 0;

	ksft_print_msg("BENCH: handoff: mode=%s vcpus=%d handoffs=%lu acquisitions=%lu stamped=%lu span_cycles=%lu cyc_median=%lu cyc_p10=%lu cyc_p90=%lu cyc_min=%lu cyc_max=%lu cyc_mean=%lu per_sec=%.1f pause_exits=%lu exits=%lu irq_exits=%lu yields=%lu yields_ok=%lu preempted=%lu\n",
		       mode_name(filtering), nr_vcpus, ls.handoffs,
		       ls.acquisitions, n, span,
		       percentile(gaps, n, 50), percentile(gaps, n, 10),
		       percentile(gaps, n, 90), percentile(gaps, n, 0),
		       percentile(gaps, n, 100), n ? span / n : 0,
		       span ? n * 1000.0 * tsc_khz / span : 0.0,
		       sum.pause_exits, sum.exits, sum.irq_exits, sum.yields,
		       sum.yields_ok, sum.preempted);
	ksft_test_result_pass("handoff %s %d vCPUs\n", mode_name(filtering),
			      nr_vcpus);
}

static void run_until(struct kvm_vcpu *vcpu, u64 want)
{
	struct ucall uc;
	u64 cmd;

	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	cmd = get_ucall(vcpu, &uc);
	if (cmd == UCALL_ABORT)
		REPORT_GUEST_ASSERT(uc);
	TEST_ASSERT(cmd == want, "Expected ucall %lu, got %lu", want, cmd);
}

/* One busy-wait of @ms on a fresh VM: a window from the base. */
static void wait_once(bool filtering, u64 ms, struct exit_stats *d)
{
	struct exit_stats before;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = create_vm(1, filtering);
	vcpu = vm_vcpu_add(vm, 0, wait_guest_code);
	WRITE_AND_SYNC_TO_GUEST(vm, ws.cycles, ms * tsc_khz);
	run_until(vcpu, UCALL_SYNC);
	read_stats(vcpu, &before);
	run_until(vcpu, UCALL_DONE);
	read_stats(vcpu, d);
	sync_global_from_guest(vm, ws);
	kvm_vm_free(vm);

	/* The final ucall's own I/O exit is not part of the wait. */
	d->exits -= before.exits + 1;
	d->irq_exits -= before.irq_exits;
	d->pause_exits = d->exits - d->irq_exits;
	d->yields -= before.yields;
	d->yields_ok -= before.yields_ok;
	d->preempted -= before.preempted;
}

static void bench_wait(u64 ms)
{
	struct exit_stats ref, s;
	u64 ref_passes;
	double lost;

	wait_once(false, ms, &ref);
	ref_passes = ws.passes;
	ksft_print_msg("BENCH: wait: mode=nofilter ms=%lu passes=%lu tsc=%lu pause_exits=%lu exits=%lu irq_exits=%lu pause_exits_per_sec=0.0 lost_pct=0.000 cyc_per_pause_exit=0\n",
		       ms, ws.passes, ws.tsc, ref.pause_exits, ref.exits,
		       ref.irq_exits);
	ksft_test_result_pass("wait nofilter %lu ms\n", ms);

	wait_once(true, ms, &s);
	lost = ref_passes > ws.passes ?
	       100.0 * (ref_passes - ws.passes) / ref_passes : 0.0;
	ksft_print_msg("BENCH: wait: mode=%s ms=%lu passes=%lu tsc=%lu pause_exits=%lu exits=%lu irq_exits=%lu pause_exits_per_sec=%.1f lost_pct=%.3f cyc_per_pause_exit=%lu\n",
		       policy, ms, ws.passes, ws.tsc, s.pause_exits, s.exits,
		       s.irq_exits, s.pause_exits * 1000.0 / ms, lost,
		       s.pause_exits ?
		       (u64)(lost / 100 * ms * tsc_khz / s.pause_exits) : 0);
	ksft_test_result_pass("wait %s %lu ms\n", policy, ms);
}

static void set_flag(const char *flag)
{
	if (!strcmp(flag, "short"))
		opt_short = true;
	else if (!strcmp(flag, "nobase"))
		opt_nobase = true;
	else if (*flag && strcmp(flag, "full"))
		ksft_exit_fail_msg("Unknown option '%s' (full, short, nobase)\n", flag);
}

/* ple.bench=FLAG,... on the kernel command line. */
static void parse_cmdline(void)
{
	static char line[4096];
	char *tok, *flag, *save, *fsave;
	FILE *f = fopen("/proc/cmdline", "r");

	if (!f)
		return;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	for (tok = strtok_r(line, "\n\t ", &save); tok;
	     tok = strtok_r(NULL, "\n\t ", &save)) {
		if (strncmp(tok, "ple.bench=", 10))
			continue;
		for (flag = strtok_r(tok + 10, ",", &fsave); flag;
		     flag = strtok_r(NULL, ",", &fsave))
			set_flag(flag);
	}
}

static void print_info(u64 span_ms)
{
	int grow = get_kvm_amd_param_integer("pause_filter_count_grow");

	policy = grow ? "growing" : "fixed";
	ksft_print_msg("BENCH: info: policy=%s pause_filter_count=%d grow=%d shrink=%d max=%d thresh=%d pfthreshold=%d tsc_khz=%lu cs_iters=%d span_ms=%lu short=%d nobase=%d\n",
		       policy, get_kvm_amd_param_integer("pause_filter_count"),
		       grow, get_kvm_amd_param_integer("pause_filter_count_shrink"),
		       get_kvm_amd_param_integer("pause_filter_count_max"),
		       get_kvm_amd_param_integer("pause_filter_thresh"),
		       this_cpu_has(X86_FEATURE_PFTHRESHOLD), tsc_khz, CS_ITERS,
		       span_ms, opt_short, opt_nobase);
}

static u64 read_tsc_khz(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	u64 khz;

	vm = vm_create_with_one_vcpu(&vcpu, wait_guest_code);
	khz = __vcpu_ioctl(vcpu, KVM_GET_TSC_KHZ, NULL);
	kvm_vm_free(vm);
	return khz;
}

int main(int argc, char *argv[])
{
	int i, j, nr_handoff, span_ms;

	TEST_REQUIRE(host_cpu_is_amd_compatible);
	__TEST_REQUIRE(this_cpu_has(X86_FEATURE_PAUSEFILTER),
		       "CPU lacks PauseFilter (CPUID 0x8000000A EDX[10])");
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_X86_DISABLE_EXITS) &
		     KVM_X86_DISABLE_EXITS_PAUSE);
	__TEST_REQUIRE(get_kvm_amd_param_integer("pause_filter_count"),
		       "PAUSE filtering is off (kvm_amd.pause_filter_count=0)");
	tsc_khz = read_tsc_khz();
	TEST_ASSERT((int)tsc_khz > 0, "KVM_GET_TSC_KHZ failed");

	parse_cmdline();
	for (i = 1; i < argc; i++)
		set_flag(argv[i]);
	span_ms = opt_short ? HANDOFF_MS_SHORT : HANDOFF_MS_FULL;
	nr_handoff = ARRAY_SIZE(nr_vcpus_list) * (opt_nobase ? 1 : 2);

	ksft_print_header();
	ksft_set_plan(nr_handoff + 2 * ARRAY_SIZE(wait_ms_list));
	print_info(span_ms);

	for (i = 0; i < ARRAY_SIZE(nr_vcpus_list); i++)
		for (j = opt_nobase; j < 2; j++)
			bench_handoff(nr_vcpus_list[i], j, span_ms);
	for (i = 0; i < ARRAY_SIZE(wait_ms_list); i++)
		bench_wait(wait_ms_list[i]);

	ksft_finished();
}
