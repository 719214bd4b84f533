/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The lookups: source address and range, then the question's qname with
 * its qtype and the most specific suffix, and the entries' hit counters.
 */
#ifndef DNSDIST_TS_XDP_LOOKUP_H
#define DNSDIST_TS_XDP_LOOKUP_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"
#include "name-index.h"
#include "parse.h"
#include "question.h"

/*
 * The per-entry hit counter is a plain increment: the counters live in
 * dnsdist's shared map values, and an atomic add on a line shared by all
 * CPUs cost about a quarter of drop throughput. Under a flood spread over
 * several CPUs it may undercount; the per-CPU totals in xdpstats are exact.
 */
static __always_inline void hit(struct map_value *v)
{
	v->counter += 1;
}

/* Exact source address, then longest prefix. NULL when neither matches. */
static __always_inline struct map_value *lookup_source(struct packet *p, __u32 *stat_base)
{
	struct map_value *v;

	if (p->l3_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = p->data + BOUNDED(p->l3_off, 0xff);
		struct cidr4_key ck;
		__u32 key;

		if ((void *)(ip + 1) > p->data_end)
			return NULL;
		key = bpf_ntohl(ip->saddr);
		v = bpf_map_lookup_elem(&v4filter, &key);
		if (v) {
			*stat_base = STAT_ADDR_BASE;
			return v;
		}
		ck.prefixlen = 32;
		ck.addr = ip->saddr;
		v = bpf_map_lookup_elem(&cidr4filter, &ck);
		*stat_base = STAT_RANGE_BASE;
		return v;
	} else {
		struct ipv6hdr *ip6 = p->data + BOUNDED(p->l3_off, 0xff);
		struct cidr6_key ck;

		if ((void *)(ip6 + 1) > p->data_end)
			return NULL;
		v = bpf_map_lookup_elem(&v6filter, &ip6->saddr);
		if (v) {
			*stat_base = STAT_ADDR_BASE;
			return v;
		}
		ck.prefixlen = 128;
		__builtin_memcpy(ck.addr, &ip6->saddr, 16);
		v = bpf_map_lookup_elem(&cidr6filter, &ck);
		*stat_base = STAT_RANGE_BASE;
		return v;
	}
}

/*
 * FNV-1a (64-bit) of each suffix, fed from the root label backwards, so
 * one reverse pass yields the hash of every suffix at its label start.
 * The loader computes the same hash for the suffix map's keys.
 */
static __always_inline void hash_suffixes(struct scratch *s)
{
	__u64 h = FNV64_OFFSET;
	__u32 k, j, end = *(volatile __u32 *)&s->name_end;

	/* From the root label back to the first byte; `end` is imprecise, so
	 * the verifier walks this once with a single exit per step. */
	for (k = 0; k < QNAME_BYTES; k++) {
		if (k > end)
			break;
		j = BOUNDED(end - k, 0xff);
		h = (h ^ s->key.qname[j]) * FNV64_PRIME;
		s->hash_at[j] = h;
	}
}

/*
 * The most specific blocked suffix of the name, or NULL. With a usable
 * suffix index only the suffixes whose fingerprint it cannot rule out are
 * hashed and looked up; without one, every suffix is.
 */
static __always_inline struct map_value *lookup_suffix(struct scratch *s, __u32 labels, struct index_view *ix)
{
	struct suffix_key k = {};
	__u32 i, start, len, end = *(volatile __u32 *)&s->name_end, all = 1;

	if (ix->suffixes) {
		/* The candidate count lives in memory: a register would be known
		 * exactly on every path and multiply the verifier's states. */
		s->candidates = 0;
		s->key.qtype = 0; /* fingerprints read past the name: see suffix_fp */
		for (i = 0; i < MAX_LABELS; i++) {
			__u8 c;

			if (i >= labels)
				break;
			start = s->label_start[i & (MAX_LABELS - 1)];
			len = end + 1 - start;
			/* The length first: most suffix lengths have no entry at all. */
			c = index_has_length(ix, 1, len) && index_has_fp(ix, 1, suffix_fp(s, start, len));
			s->candidate[i & (MAX_LABELS - 1)] = c;
			s->candidates += c;
		}
		if (!*(volatile __u32 *)&s->candidates)
			return NULL;
		all = 0;
	}
	/* Forget what the paths above knew exactly (the label count at each
	 * loop exit, which branch ran), or all below is verified per case. */
	s->all_candidates = all;
	all = *(volatile __u32 *)&s->all_candidates;
	labels = *(volatile __u32 *)&s->n_labels;
	hash_suffixes(s);
	/* Longest suffix first: the most specific entry wins. */
	for (i = 0; i < MAX_LABELS; i++) {
		struct map_value *v;

		if (i >= labels)
			break;
		if (!all && !s->candidate[i & (MAX_LABELS - 1)])
			continue;
		start = s->label_start[i & (MAX_LABELS - 1)];
		k.hash = s->hash_at[start & 0xff];
		k.len = end + 1 - start;
		v = bpf_map_lookup_elem(&suffixfilter, &k);
		if (v)
			return v; /* a suffix_value starts with a map_value */
	}
	return NULL;
}

/* The qname entry for the question: its qtype, then 255, then 65535. */
static __always_inline struct map_value *lookup_qname(struct scratch *s, __u16 qtype)
{
	struct map_value *v;

	s->key.qtype = qtype;
	v = bpf_map_lookup_elem(&qnamefilter, &s->key);
	if (v)
		return v;
	s->key.qtype = QTYPE_ANY_1X;
	v = bpf_map_lookup_elem(&qnamefilter, &s->key);
	if (v)
		return v;
	s->key.qtype = QTYPE_ANY_2X;
	return bpf_map_lookup_elem(&qnamefilter, &s->key);
}

/* lookup_names' result: 0 for no match, else MATCH | stat base << 8 | action. */
#define NAME_MATCH 0x10000

/*
 * The name checks for the question parse_question left in the scratch
 * space: qname with the qtype, 255, 65535, then the most specific suffix.
 * The index, when usable (index-guard.h), rules out most names without
 * touching the 258-byte qname keys or hashing the suffixes. Counts the
 * matching entry's hit. A global function, verified once (see parse_question).
 */
__noinline int lookup_names(__u32 qtype)
{
	struct scratch *s = scratch();
	struct index_view ix;
	struct map_value *v;
	__u32 labels, len;

	if (!s)
		return 0;
	read_index(&ix);
	len = *(volatile __u32 *)&s->name_end + 1;
	if (!ix.qnames || (index_has_length(&ix, 0, len) && index_has_fp(&ix, 0, qname_fp(s, len)))) {
		v = lookup_qname(s, qtype);
		if (v) {
			hit(v);
			return NAME_MATCH | (STAT_QNAME_BASE << 8) | v->action;
		}
	}
	labels = *(volatile __u32 *)&s->n_labels;
	v = lookup_suffix(s, labels, &ix);
	if (v) {
		hit(v);
		return NAME_MATCH | (STAT_SUFFIX_BASE << 8) | v->action;
	}
	return 0;
}

#endif
