/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading the name index (`name-index`, see dnsdist-maps.h): whether a
 * name or suffix of a given length and fingerprint may be blocked.
 */
#ifndef DNSDIST_TS_XDP_NAME_INDEX_H
#define DNSDIST_TS_XDP_NAME_INDEX_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"
#include "index-guard.h"

/* What the name index says, read once per query. */
struct index_view {
	__u32 mask;
	__u8 qnames;	/* the qname region may rule names out (index-guard.h) */
	__u8 suffixes;	/* the suffix region may */
};

/* An index word, 0 when it cannot be read (a part then counts as off). */
static __always_inline __u64 index_word(__u32 k)
{
	__u64 *v = bpf_map_lookup_elem(&nameindex, &k);

	return v ? *v : 0;
}

static __always_inline void read_index(struct index_view *ix)
{
	__u64 slots, now;

	ix->qnames = 0;
	ix->suffixes = 0;
	ix->mask = 0;
	slots = index_word(NAME_INDEX_SLOTS);
	if (slots < NAME_INDEX_MIN_SLOTS || slots > NAME_INDEX_MAX_SLOTS || (slots & (slots - 1)))
		return;
	ix->mask = slots - 1;
	now = bpf_jiffies64();
	ix->qnames = index_region_usable(index_word(NAME_INDEX_QNAMES), index_word(NAME_INDEX_QNAMES_UNTIL), now);
	ix->suffixes = index_region_usable(index_word(NAME_INDEX_SUFFIXES), index_word(NAME_INDEX_SUFFIXES_UNTIL), now);
}

/* A slot of the index: 0 only when it is readable and clear (a slot we
 * cannot read counts as set: never a false "absent"). */
static __always_inline int index_slot(__u32 k)
{
	__u64 *v = bpf_map_lookup_elem(&nameindex, &k);

	return !(v && !*v);
}

/* Whether a blocked name (region 0) or suffix (region 1) of wire length `len` may exist. */
static __always_inline int index_has_length(struct index_view *ix, __u32 region, __u32 len)
{
	return index_slot(NAME_INDEX_FIRST_SLOT + 2 * (ix->mask + 1) + region * NAME_INDEX_LENGTHS + (len & 0xff));
}

/* Whether one with fingerprint `fp` may exist: both slots it picks are set. */
static __always_inline int index_has_fp(struct index_view *ix, __u32 region, __u64 fp)
{
	__u32 base = NAME_INDEX_FIRST_SLOT + region * (ix->mask + 1);

	return index_slot(base + ((__u32)fp & ix->mask)) && index_slot(base + ((__u32)(fp >> 32) & ix->mask));
}

#endif
