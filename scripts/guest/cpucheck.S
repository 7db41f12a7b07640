/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cpucheck.S: a floppy boot sector that asks a Bochs what the zen machine
 * needs of it, before any kernel boots (scripts/guest/boot-bochs.sh,
 * check_user_bochs).  It prints one line on COM1,
 *
 *   PLE-CPUCHECK: svm_edx=0000144f idiv=00000000000004a9,fffffffffffffffd
 *
 * svm_edx: CPUID 0x8000000A EDX (bit 10 PauseFilter, bit 12 PFThreshold;
 * 0 without the leaf); idiv: two 64-bit IDIVs, the one that
 * register_refined_jiffies() does first in a Linux boot,
 * (1193182 + 500) / 1000 = 1193 (0x4a9), and -7 / 2 = -3, whose results a
 * miscompiled long_idiv() gets wrong (Debian sid's Bochs 3.1: the kernel's
 * next division, by that result, is the early #DE).  Then it writes
 * "Shutdown" to port 0x8900, which powers Bochs off.
 *
 * Real mode to long mode directly: identity-mapped 2 MB page, a GDT with a
 * 64-bit code segment, PAE, EFER.LME, then PE and PG at once and a far jump.
 * Assembled with `as --64`, linked at 0x7c00 as a flat binary.
 */
#define COM1		0x3f8
#define PML4		0x1000
#define PDPT		0x2000
#define PD		0x3000

	.code16
	.text
	.globl _start
_start:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$0x7c00, %sp

	/* COM1: 115200 baud (divisor 1), 8 bits, no parity, 1 stop bit. */
	mov	$COM1 + 3, %dx
	mov	$0x80, %al
	out	%al, %dx
	mov	$COM1, %dx
	mov	$1, %al
	out	%al, %dx
	mov	$COM1 + 1, %dx
	xor	%al, %al
	out	%al, %dx
	mov	$COM1 + 3, %dx
	mov	$3, %al
	out	%al, %dx

	/* CPUID 0x8000000A EDX, if the leaf exists. */
	mov	$0x80000000, %eax
	cpuid
	xor	%edx, %edx
	cmp	$0x8000000a, %eax
	jb	1f
	mov	$0x8000000a, %eax
	cpuid
1:	mov	%edx, svm_edx

	/* Page tables: PML4[0] -> PDPT[0] -> PD[0], a 2 MB page at 0. */
	mov	$PML4, %di
	xor	%eax, %eax
	mov	$3 * 1024, %cx
	rep stosl
	movl	$PDPT | 3, PML4
	movl	$PD | 3, PDPT
	movl	$0x83, PD

	lgdtl	gdt_desc
	mov	%cr4, %eax
	or	$1 << 5, %eax			/* PAE */
	mov	%eax, %cr4
	mov	$PML4, %eax
	mov	%eax, %cr3
	mov	$0xc0000080, %ecx		/* EFER */
	rdmsr
	or	$1 << 8, %eax			/* LME */
	wrmsr
	mov	%cr0, %eax
	or	$0x80000001, %eax		/* PG, PE */
	mov	%eax, %cr0
	ljmpl	$0x08, $long_mode

	.code64
long_mode:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$0x7c00, %rsp

	lea	msg_edx(%rip), %rsi
	call	puts
	mov	svm_edx(%rip), %eax
	mov	$8, %ecx
	call	hex
	lea	msg_idiv(%rip), %rsi
	call	puts

	mov	$1193182 + 500, %rax
	cqo
	mov	$1000, %rbx
	idiv	%rbx
	mov	$16, %ecx
	call	hex
	mov	$',', %al
	call	putc
	mov	$-7, %rax
	cqo
	mov	$2, %rbx
	idiv	%rbx
	mov	$16, %ecx
	call	hex
	mov	$'\n', %al
	call	putc

	/* Power off: wait for the UART to empty, then the shutdown port. */
2:	mov	$COM1 + 5, %dx
	in	%dx, %al
	test	$0x40, %al
	jz	2b
	lea	msg_shutdown(%rip), %rsi
	mov	$0x8900, %dx
3:	lodsb
	test	%al, %al
	jz	4f
	out	%al, %dx
	jmp	3b
4:	hlt
	jmp	4b

/* putc: %al to COM1, once its transmitter holding register is empty. */
putc:
	mov	%al, %ah
	mov	$COM1 + 5, %dx
1:	in	%dx, %al
	test	$0x20, %al
	jz	1b
	mov	$COM1, %dx
	mov	%ah, %al
	out	%al, %dx
	ret

/* puts: the NUL-terminated string at %rsi. */
puts:
	lodsb
	test	%al, %al
	jz	1f
	call	putc
	jmp	puts
1:	ret

/* hex: the low %ecx nibbles of %rax, most significant first. */
hex:
	mov	%rax, %rbx
	lea	(, %rcx, 4), %ecx
1:	sub	$4, %ecx
	mov	%rbx, %rax
	shr	%cl, %rax
	and	$0xf, %eax
	lea	digits(%rip), %rsi
	mov	(%rsi, %rax), %al
	push	%rcx
	call	putc
	pop	%rcx
	test	%ecx, %ecx
	jnz	1b
	ret

	.balign	8
gdt:
	.quad	0
	.quad	0x00209a0000000000		/* 0x08: 64-bit code */
	.quad	0x0000920000000000		/* 0x10: data */
gdt_desc:
	.word	gdt_desc - gdt - 1
	.long	gdt
svm_edx:
	.long	0
digits:
	.ascii	"0123456789abcdef"
msg_edx:
	.asciz	"PLE-CPUCHECK: svm_edx="
msg_idiv:
	.asciz	" idiv="
msg_shutdown:
	.asciz	"Shutdown"

	.org	510
	.word	0xaa55
