/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The program's state: its load-time configuration, the maps it reads
 * (pinned by name) and its per-CPU scratch space. Layouts: dnsdist-maps.h.
 */
#ifndef DNSDIST_TS_XDP_MAPS_H
#define DNSDIST_TS_XDP_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xdp-filter.h"

/* Load-time configuration: the only .rodata variable, so the loader can
 * write the section as this struct. */
const volatile struct filter_config cfg = { .dns_ports = { 53 }, .n_dns_ports = 1 };

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct addr4_key);
	__type(value, struct map_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} v4filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct addr6_key);
	__type(value, struct map_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} v6filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct qname_key);
	__type(value, struct map_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} qnamefilter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cidr4_key);
	__type(value, struct map_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cidr4filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cidr6_key);
	__type(value, struct map_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cidr6filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct suffix_key);
	__type(value, struct suffix_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} suffixfilter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NAME_INDEX_DEFAULT_ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nameindex SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xdpstats SEC(".maps");

/* Per-packet scratch too large for the 512-byte stack. */
struct scratch {
	struct qname_key key;
	/* A suffix fingerprint reads 8 * FP_WORDS bytes from a label start,
	 * up to 32 bytes past the key: inside this struct, and zero (never
	 * written), as every byte after the name must be. */
	__u8 fp_slack[8 * FP_WORDS];
	__u64 hash_at[QNAME_BYTES + 1];	/* suffix hash starting at each byte */
	__u32 label_start[MAX_LABELS];
	__u8 candidate[MAX_LABELS];	/* suffixes the index could not rule out */
	__u32 candidates;
	__u32 all_candidates;
	__u32 name_end;
	__u32 n_labels;
	__u32 l3_off;
	__u32 l4_off;
	__u32 l3_end;
	__u32 flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_space SEC(".maps");

/* The scratch space of this CPU (never NULL for index 0 of a 1-entry array). */
static __always_inline struct scratch *scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch_space, &zero);
}

#endif
