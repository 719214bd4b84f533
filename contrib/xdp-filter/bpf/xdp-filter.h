/* SPDX-License-Identifier: GPL-2.0 */
/* The XDP program's own limits and the headers it parses; the map layouts
 * it shares with the loader and the socket filter are in dnsdist-maps.h. */
#ifndef DNSDIST_TS_XDP_FILTER_H
#define DNSDIST_TS_XDP_FILTER_H

#include <linux/types.h>

#include "bpf-filter/bpf/dnsdist-maps.h"

#define MAX_EXT_HDRS 4
/* l4_proto value for a packet whose transport header we could not reach */
#define L4_OPAQUE 255
#define MAX_LABELS 128 /* 127 labels + the root */
#define MAX_CSUM_WORDS 160 /* UDP + DNS header + question: at most 279 bytes */

struct vlan_hdr {
	__be16 h_vlan_TCI;
	__be16 h_vlan_encapsulated_proto;
};

struct dnshdr {
	__u16 id;
	__u16 flags;
	__u16 qdcount;
	__u16 ancount;
	__u16 nscount;
	__u16 arcount;
};

/* Bound a value the verifier lost track of: the asm stops clang from
 * dropping a mask it can prove redundant. */
#define BOUNDED(x, mask)                                  \
	({                                                \
		__u32 _v = (x);                           \
		asm volatile("" : "+r"(_v));              \
		_v & (mask);                              \
	})

#endif
