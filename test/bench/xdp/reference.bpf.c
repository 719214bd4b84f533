// SPDX-License-Identifier: GPL-2.0
/*
 * Reference programs for test/bench/xdp, built only for the benchmark:
 * a bare drop (the floor), a minimal parse-and-one-lookup name filter (the
 * practical limit: Ethernet + 20-byte IPv4 + UDP + qname copy + one hash
 * lookup, no VLANs, options, IPv6, qtype fallbacks or suffixes), and the
 * same for source addresses (Ethernet + fixed IPv4/IPv6 header + UDP port +
 * one hash lookup of the source).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct qkey {
	__u8 qname[255];
	__u8 pad;
	__u16 qtype;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct qkey);
	__type(value, __u64);
} ref_qnames SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} ref_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct in6_addr);
	__type(value, __u64);
} ref_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct qkey);
} ref_scratch SEC(".maps");

SEC("xdp")
int xdp_bare_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int xdp_min_parse(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	__u8 *q = (__u8 *)(udp + 1) + 12;
	struct qkey *k;
	__u32 zero = 0, i;

	if ((void *)(udp + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_UDP || udp->dest != bpf_htons(53))
		return XDP_PASS;
	k = bpf_map_lookup_elem(&ref_scratch, &zero);
	if (!k)
		return XDP_PASS;
	__builtin_memset(k, 0, sizeof(*k));
	for (i = 0; i < 255; i++) {
		if ((void *)(q + i + 1) > data_end)
			return XDP_PASS;
		k->qname[i] = q[i];
		if (q[i] == 0)
			break;
	}
	if (bpf_map_lookup_elem(&ref_qnames, k))
		return XDP_DROP;
	return XDP_PASS;
}

SEC("xdp")
int xdp_min_addr(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		struct udphdr *udp = (void *)(ip + 1);
		__u32 key;

		if ((void *)(udp + 1) > data_end || ip->protocol != IPPROTO_UDP || udp->dest != bpf_htons(53))
			return XDP_PASS;
		key = bpf_ntohl(ip->saddr);
		return bpf_map_lookup_elem(&ref_v4, &key) ? XDP_DROP : XDP_PASS;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		struct udphdr *udp = (void *)(ip6 + 1);

		if ((void *)(udp + 1) > data_end || ip6->nexthdr != IPPROTO_UDP || udp->dest != bpf_htons(53))
			return XDP_PASS;
		return bpf_map_lookup_elem(&ref_v6, &ip6->saddr) ? XDP_DROP : XDP_PASS;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
