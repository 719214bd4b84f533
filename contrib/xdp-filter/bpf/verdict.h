/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Verdicts and their per-CPU counters (`xdp-stats`, enum xdp_stat).
 */
#ifndef DNSDIST_TS_XDP_VERDICT_H
#define DNSDIST_TS_XDP_VERDICT_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"
#include "parse.h"
#include "tc-reply.h"

static __always_inline void count(__u32 stat)
{
	__u64 *c = bpf_map_lookup_elem(&xdpstats, &stat);

	if (c)
		*c += 1;
}

/* Act on a matching entry's action (its hit already counted). */
static __always_inline int verdict(struct xdp_md *ctx, struct packet *p, __u8 action, __u32 stat_base,
				   int is_query, __u32 dns_off, __u32 qlen, __u16 sport)
{
	if (action == ACTION_PASS) {
		count(STAT_ALLOW);
		return XDP_PASS;
	}
	if (action == ACTION_TC && is_query && !p->extensions && !p->fragment && !is_dns_port(sport)) {
		if (reply_truncated(ctx, p->l3_off, p->l4_off, p->l3_proto != bpf_htons(ETH_P_IP),
				    dns_off + sizeof(struct dnshdr) + qlen) == XDP_TX) {
			count(stat_base + 1);
			return XDP_TX;
		}
	}
	/* DROP, or TC where a reply cannot be sent safely: a TCP segment, a
	 * fragment, a packet with IP options or extension headers, a source
	 * port in the DNS port set (a reflection loop between two filters), or
	 * a reply that could not be built. */
	count(stat_base);
	return XDP_DROP;
}

#endif
