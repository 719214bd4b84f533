/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The TC action: the query rewritten in place into a truncated (TC=1)
 * response and sent back out of the interface it came in on.
 */
#ifndef DNSDIST_TS_XDP_TC_REPLY_H
#define DNSDIST_TS_XDP_TC_REPLY_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "parse.h"

static __always_inline __u16 csum_fold(__u64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

/* Add the 16-bit words of [start, start + len) to *sum. -1 when the range
 * is not entirely inside the packet or longer than a reply can be: the
 * caller must not send a checksum computed over part of its data. */
static __always_inline int csum_add_range(struct packet *p, __u32 start, __u32 len, __u64 *sum)
{
	__u8 *base = p->data + BOUNDED(start, 0x1ff);
	__u64 acc = *sum;
	__u8 *last;
	__u32 i;

	if (len > MAX_CSUM_WORDS * 2)
		return -1;
	for (i = 0; i < MAX_CSUM_WORDS; i++) {
		__u16 *w = (void *)(base + i * 2);

		if (i * 2 + 1 >= len)
			break;
		if ((void *)(w + 1) > p->data_end)
			return -1;
		acc += *w;
	}
	if (len & 1) {
		/* An odd last byte is padded with a zero byte. */
		last = base + BOUNDED(len - 1, 0x1ff);
		if ((void *)(last + 1) > p->data_end)
			return -1;
		acc += bpf_htons((__u16)*last << 8);
	}
	*sum = acc;
	return 0;
}

/*
 * Turn the query into a TC=1 response in place and send it back out:
 * header flags, empty sections, the frame cut after the question,
 * addresses and ports swapped, checksums valid. XDP_DROP when any of it
 * cannot be done.
 */
static __noinline int reply_truncated(struct xdp_md *ctx, __u32 l3, __u32 l4, __u32 is_ipv6, __u32 new_len)
{
	struct packet pk = {};
	struct packet *p = &pk;
	struct ethhdr *eth;
	struct udphdr *udp;
	struct dnshdr *dns;
	__u8 mac[ETH_ALEN];
	__u16 udp_len;
	int delta;

	if (new_len > 1024 || l3 > 255 || l4 > 511 || new_len < l4 + sizeof(*udp) + sizeof(*dns))
		return XDP_DROP;
	delta = (int)new_len - (int)(ctx->data_end - ctx->data);
	if (delta > 0 || (delta < 0 && bpf_xdp_adjust_tail(ctx, delta)))
		return XDP_DROP;
	p->data = (void *)(long)ctx->data;
	p->data_end = (void *)(long)ctx->data_end;

	eth = p->data;
	if ((void *)(eth + 1) > p->data_end)
		return XDP_DROP;
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);

	udp = p->data + BOUNDED(l4, 0x1ff);
	dns = (void *)(udp + 1);
	if ((void *)(dns + 1) > p->data_end)
		return XDP_DROP;
	/* QR=1 TC=1, keep opcode and RD; AA=0; keep CD, clear AD; RCODE 0. */
	dns->flags = (dns->flags & bpf_htons(0x7910)) | bpf_htons(0x8200);
	dns->ancount = 0;
	dns->nscount = 0;
	dns->arcount = 0;
	udp_len = new_len - l4;
	{
		__u16 port = udp->source;

		udp->source = udp->dest;
		udp->dest = port;
	}
	udp->len = bpf_htons(udp_len);

	if (!is_ipv6) {
		struct iphdr *ip = p->data + BOUNDED(l3, 0xff);
		__u64 sum = 0;
		__u32 addr;

		if ((void *)(ip + 1) > p->data_end)
			return XDP_DROP;
		addr = ip->saddr;
		ip->saddr = ip->daddr;
		ip->daddr = addr;
		ip->ttl = 64;
		ip->tot_len = bpf_htons(new_len - l3);
		ip->frag_off = 0;
		ip->check = 0;
		if (csum_add_range(p, BOUNDED(l3, 0xff), sizeof(*ip), &sum))
			return XDP_DROP;
		ip->check = csum_fold(sum);
		/* A zero UDP checksum means "none" over IPv4: keep it that way. */
		if (udp->check) {
			udp->check = 0;
			sum = (__u64)(ip->saddr & 0xffff) + (ip->saddr >> 16) +
			      (ip->daddr & 0xffff) + (ip->daddr >> 16) +
			      bpf_htons(IPPROTO_UDP) + bpf_htons(udp_len);
			if (csum_add_range(p, BOUNDED(l4, 0x1ff), udp_len, &sum))
				return XDP_DROP;
			udp->check = csum_fold(sum);
			if (udp->check == 0)
				udp->check = 0xffff;
		}
	} else {
		struct ipv6hdr *ip6 = p->data + BOUNDED(l3, 0xff);
		struct in6_addr addr;
		__u64 sum = 0;
		int i;

		if ((void *)(ip6 + 1) > p->data_end)
			return XDP_DROP;
		addr = ip6->saddr;
		ip6->saddr = ip6->daddr;
		ip6->daddr = addr;
		ip6->hop_limit = 64;
		ip6->payload_len = bpf_htons(udp_len);
		udp->check = 0;
#pragma unroll
		for (i = 0; i < 8; i++)
			sum += ip6->saddr.in6_u.u6_addr16[i] + ip6->daddr.in6_u.u6_addr16[i];
		sum += bpf_htons(IPPROTO_UDP) + bpf_htons(udp_len);
		if (csum_add_range(p, BOUNDED(l4, 0x1ff), udp_len, &sum))
			return XDP_DROP;
		udp->check = csum_fold(sum);
		/* Zero is illegal for UDP over IPv6. */
		if (udp->check == 0)
			udp->check = 0xffff;
	}
	return XDP_TX;
}

#endif
