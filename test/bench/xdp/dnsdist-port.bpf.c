// SPDX-License-Identifier: GPL-2.0
/*
 * For test/bench/xdp only: the algorithm of dnsdist 1.7.3's contrib XDP
 * program (contrib/xdp-filter.ebpf.src, bcc) re-expressed in libbpf style
 * from its described behaviour (docs: ../../../../shared/spec, §1.6), so
 * that the flood benchmark compares both programs under the same generator
 * and on the same maps. Deliberately kept: Ethernet with up to two VLAN
 * tags, a 20-byte IPv4 header assumed, IPv6 only with UDP as the next
 * header, UDP to port 53 only, source entry then {qname, qtype} then
 * {qname, 255}, the name read one byte per bpf_probe_read_kernel call,
 * atomic hit counters, TC as a flags rewrite with ports (source forced to
 * 53), addresses and MACs swapped.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct entry {
	__u64 counter;
	__u8 action; /* 0 pass, 1 drop, 2 truncate */
};

struct name_and_type {
	__u8 qname[255];
	__u16 qtype;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct entry);
} v4filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct in6_addr);
	__type(value, struct entry);
} v6filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct name_and_type);
	__type(value, struct entry);
} qnamefilter SEC(".maps");

struct tag {
	__be16 tci;
	__be16 proto;
};

/* Byte by byte through bpf_probe_read_kernel, as the original does. */
static __always_inline struct entry *by_name(__u8 *pos)
{
	struct name_and_type key = {};
	__u8 byte = 0;
	__u16 qtype;
	int left = 0, i;

	for (i = 0; i < 255; i++) {
		if (bpf_probe_read_kernel(&byte, 1, pos))
			return NULL;
		pos++;
		if (left == 0) {
			if (byte == 0 || byte > 63)
				break;
			left = byte;
		} else {
			left--;
		}
		key.qname[i] = byte >= 'A' && byte <= 'Z' ? byte + 32 : byte;
	}
	if (byte != 0)
		return NULL;
	if (bpf_probe_read_kernel(&qtype, 2, pos))
		return NULL;
	key.qtype = bpf_htons(qtype);
	{
		struct entry *e = bpf_map_lookup_elem(&qnamefilter, &key);

		if (e)
			return e;
	}
	key.qtype = 255;
	return bpf_map_lookup_elem(&qnamefilter, &key);
}

/* The one's-complement update of a checksum for one changed 16-bit word. */
static __always_inline __u16 csum_replace(__u16 csum, __u16 old, __u16 new)
{
	__u32 sum = (__u16)~csum + (__u16)~old + new;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

SEC("xdp")
int xdp_dnsdist_port(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6;
	struct iphdr *ip;
	struct udphdr *udp;
	__u16 *flags, old;
	struct entry *e;
	void *cur;
	__u16 proto;
	int i;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	proto = eth->h_proto;
	cur = eth + 1;
#pragma unroll
	for (i = 0; i < 2; i++) {
		struct tag *t = cur;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(t + 1) > end)
			return XDP_PASS;
		proto = t->proto;
		cur = t + 1;
	}
	if (proto == bpf_htons(ETH_P_IP)) {
		ip = cur;
		if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_UDP)
			return XDP_PASS;
		udp = (void *)(ip + 1);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		ip6 = cur;
		if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_UDP)
			return XDP_PASS;
		udp = (void *)(ip6 + 1);
	} else {
		return XDP_PASS;
	}
	if ((void *)(udp + 1) > end || udp->dest != bpf_htons(53))
		return XDP_PASS;
	/* The network header is `cur`; `proto` says which. */
	if (proto == bpf_htons(ETH_P_IP)) {
		__u32 key;

		ip = cur;
		if ((void *)(ip + 1) > end)
			return XDP_PASS;
		key = bpf_ntohl(ip->saddr);
		e = bpf_map_lookup_elem(&v4filter, &key);
	} else {
		ip6 = cur;
		if ((void *)(ip6 + 1) > end)
			return XDP_PASS;
		e = bpf_map_lookup_elem(&v6filter, &ip6->saddr);
	}
	flags = (__u16 *)(udp + 1) + 1;
	if (!e) {
		if ((void *)(flags + 5) > end)
			return XDP_PASS;
		e = by_name((__u8 *)(flags + 5));
		if (!e)
			return XDP_PASS;
	}
	__sync_fetch_and_add(&e->counter, 1);
	if (e->action == 1)
		return XDP_DROP;
	if (e->action != 2 || (void *)(flags + 1) > end)
		return XDP_PASS;
	old = *flags;
	*flags |= bpf_htons(0x8200);		/* QR, TC */
	*flags &= ~bpf_htons(0x0020);		/* AD */
	udp->check = csum_replace(udp->check, old, *flags);
	udp->dest = udp->source;
	udp->source = bpf_htons(53);
	if (proto == bpf_htons(ETH_P_IP)) {
		__u32 a;

		ip = cur;
		if ((void *)(ip + 1) > end)
			return XDP_PASS;
		a = ip->saddr;
		ip->saddr = ip->daddr;
		ip->daddr = a;
	} else {
		struct in6_addr a;

		ip6 = cur;
		if ((void *)(ip6 + 1) > end)
			return XDP_PASS;
		a = ip6->saddr;
		ip6->saddr = ip6->daddr;
		ip6->daddr = a;
	}
	{
		__u8 mac[ETH_ALEN];

		__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
		__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
		__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	}
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
