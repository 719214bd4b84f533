/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Header parsing: Ethernet, VLAN tags, IPv4/IPv6 (options, extension
 * headers, fragments) into a struct packet, and the fast path for the
 * common shapes.
 */
#ifndef DNSDIST_TS_XDP_PARSE_H
#define DNSDIST_TS_XDP_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"

struct packet {
	void *data;
	void *data_end;
	__u32 l3_off;
	__u32 l4_off;
	__u32 l3_end;	  /* where the IP datagram ends by its own length field */
	__u16 l3_proto;
	__u8 l4_proto;
	__u8 fragment;	  /* 1: first fragment, 2: later fragment */
	__u8 extensions;  /* IPv4 options or IPv6 extension headers present */
};

static __always_inline int is_dns_port(__u16 port)
{
	__u32 i;

	for (i = 0; i < MAX_DNS_PORTS; i++) {
		if (i >= cfg.n_dns_ports)
			break;
		if (cfg.dns_ports[i] == port)
			return 1;
	}
	return 0;
}

/* Ethernet, up to two VLAN tags, then IPv4 or IPv6 and their options.
 * Returns a stat to count and pass with, or -1 to go on. */
static __always_inline int parse_headers(struct packet *p)
{
	struct ethhdr *eth = p->data;
	__u32 off = sizeof(*eth);
	__u16 proto;
	int i;

	if ((void *)(eth + 1) > p->data_end)
		return STAT_PARSE_TRUNCATED;
	proto = eth->h_proto;
#pragma unroll
	for (i = 0; i < 3; i++) {
		struct vlan_hdr *vh;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if (i == 2)
			return STAT_PARSE_VLAN; /* a third tag: not ours to judge */
		vh = p->data + off;
		if ((void *)(vh + 1) > p->data_end)
			return STAT_PARSE_TRUNCATED;
		proto = vh->h_vlan_encapsulated_proto;
		off += sizeof(*vh);
	}
	p->l3_off = off;
	p->l3_proto = proto;
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = p->data + off;
		__u32 hlen, tot;

		if ((void *)(ip + 1) > p->data_end)
			return STAT_PARSE_TRUNCATED;
		/* The kernel discards these; so do we judge nothing in them. */
		hlen = ip->ihl * 4;
		tot = bpf_ntohs(ip->tot_len);
		if (ip->version != 4 || hlen < sizeof(*ip) || tot < hlen)
			return STAT_PARSE_HEADER;
		if (p->data + off + hlen > p->data_end)
			return STAT_PARSE_TRUNCATED;
		p->extensions = hlen > sizeof(*ip);
		p->l4_proto = ip->protocol;
		p->l4_off = off + hlen;
		p->l3_end = off + tot;
		if (ip->frag_off & bpf_htons(0x1fff))
			p->fragment = 2;
		else if (ip->frag_off & bpf_htons(0x2000))
			p->fragment = 1;
		return -1;
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = p->data + off;
		__u32 payload;
		__u8 next;

		if ((void *)(ip6 + 1) > p->data_end)
			return STAT_PARSE_TRUNCATED;
		if (ip6->version != 6)
			return STAT_PARSE_HEADER;
		/* Payload length 0 is a jumbogram (or nonsense): the frame's end bounds it. */
		payload = bpf_ntohs(ip6->payload_len);
		p->l3_end = payload ? off + sizeof(*ip6) + payload : 0xffff;
		next = ip6->nexthdr;
		off += sizeof(*ip6);
		if (next == IPPROTO_UDP || next == IPPROTO_TCP) {
			p->l4_proto = next;
			p->l4_off = off;
			return -1;
		}
#pragma unroll
		for (i = 0; i < MAX_EXT_HDRS; i++) {
			__u8 *h = p->data + off;

			if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING &&
			    next != IPPROTO_DSTOPTS && next != IPPROTO_FRAGMENT)
				break;
			if ((void *)(h + 8) > p->data_end)
				return STAT_PARSE_TRUNCATED;
			p->extensions = 1;
			if (next == IPPROTO_FRAGMENT) {
				/* Offset (13 bits) and M flag, read byte-wise: no alignment assumed. */
				if (h[2] || (h[3] & 0xf8))
					p->fragment = 2;
				else if (h[3] & 1)
					p->fragment = 1;
				next = h[0];
				off += 8;
			} else {
				next = h[0];
				off += (h[1] + 1) * 8;
			}
		}
		/* A chain longer than we walk, or one reaching past what our
		 * offsets can address: the source is still judged (see main). */
		if (next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING ||
		    next == IPPROTO_DSTOPTS || next == IPPROTO_FRAGMENT || off > 0x1ff) {
			p->l4_proto = L4_OPAQUE;
			p->l4_off = 0;
			return -1;
		}
		p->l4_proto = next;
		p->l4_off = off;
		return -1;
	}
	return STAT_PASS_NOT_DNS;
}

/* fast_path() results. */
enum fast_result { FAST_GO_ON, FAST_NOT_DNS, FAST_LOOKED_UP };

/*
 * The common shapes (no VLAN tag; IPv4 without options, not a later
 * fragment; IPv6 without extension headers), with fixed offsets and the
 * fewest checks: traffic to a port outside the DNS set (most of an
 * interface's traffic) is FAST_NOT_DNS; UDP to a DNS port has its source
 * looked up (FAST_LOOKED_UP, *v the entry or NULL). Anything else is
 * FAST_GO_ON, for the full parser.
 */
static __always_inline int fast_path(void *data, void *data_end, struct map_value **v, __u32 *stat_base)
{
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = NULL;
	struct iphdr *ip = NULL;
	__u16 *ports;
	__u8 proto;

	if ((void *)(eth + 1) > data_end)
		return FAST_GO_ON;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > data_end || *(__u8 *)ip != 0x45 || (ip->frag_off & bpf_htons(0x1fff)) ||
		    bpf_ntohs(ip->tot_len) < sizeof(*ip))
			return FAST_GO_ON;
		proto = ip->protocol;
		ports = (void *)(ip + 1);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
			return FAST_GO_ON;
		proto = ip6->nexthdr;
		ports = (void *)(ip6 + 1);
	} else {
		return FAST_GO_ON;
	}
	if ((proto != IPPROTO_UDP && proto != IPPROTO_TCP) || (void *)(ports + 2) > data_end)
		return FAST_GO_ON;
	if (!is_dns_port(bpf_ntohs(ports[1])))
		return FAST_NOT_DNS;
	if (proto != IPPROTO_UDP)
		return FAST_GO_ON;
	*stat_base = STAT_ADDR_BASE;
	if (ip) {
		struct cidr4_key ck = { .prefixlen = 32, .addr = ip->saddr };
		__u32 key = bpf_ntohl(ip->saddr);

		*v = bpf_map_lookup_elem(&v4filter, &key);
		if (!*v) {
			*stat_base = STAT_RANGE_BASE;
			*v = bpf_map_lookup_elem(&cidr4filter, &ck);
		}
	} else if (ip6) {
		struct cidr6_key ck = { .prefixlen = 128 };

		*v = bpf_map_lookup_elem(&v6filter, &ip6->saddr);
		if (!*v) {
			__builtin_memcpy(ck.addr, &ip6->saddr, 16);
			*stat_base = STAT_RANGE_BASE;
			*v = bpf_map_lookup_elem(&cidr6filter, &ck);
		}
	}
	return FAST_LOOKED_UP;
}

#endif
