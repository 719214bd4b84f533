/* SPDX-License-Identifier: GPL-2.0 */
/*
 * When the XDP program may let the name index rule a name out.
 *
 * Foreign writers (dnsdist itself, bpftool, any program using the bpf
 * syscall) insert into `qnames` and `suffixes` without marking the index.
 * A GUARDED part is therefore used only while the index guard
 * (index-guard.bpf.c, a BPF timer owned by a dnsdist-ts process) vouches
 * for it: a scan that starts at jiffy T marks every entry present then and
 * writes "usable until T + fresh". An entry written at t after T is thus
 * ruled out at most until t + fresh (plus a jiffy of clock granularity);
 * with no guard alive, the part goes stale and every name is looked up.
 * A TRUSTED part is used as is: the operator promised that every writer
 * marks what it inserts (dnsdist-ts's writers do, before and after).
 *
 * bpf_jiffies64() is inlined by the verifier (a load of `jiffies`), which
 * is why the program compares jiffies rather than reading a clock.
 */
#ifndef DNSDIST_TS_INDEX_GUARD_H
#define DNSDIST_TS_INDEX_GUARD_H

#include "xdp-filter.h"

static __always_inline __u8 index_region_usable(__u64 state, __u64 until, __u64 now_jiffies)
{
	if (state == NAME_INDEX_TRUSTED)
		return 1;
	return state == NAME_INDEX_GUARDED && now_jiffies <= until;
}

#endif
