// SPDX-License-Identifier: GPL-2.0
/*
 * dnsdist-ts internal BPF filter: a socket filter attached to every
 * listening socket when newBPFFilter is not external. It reads dnsdist's
 * legacy map format (the layouts are in dnsdist-maps.h):
 *   v4:     u32 address (host order)   -> u64 hit counter
 *   v6:     16 B address (network)     -> u64 hit counter
 *   qnames: 255 B lower-cased wire name -> { u64 counter; u16 qtype; }
 * Blocked sources are dropped over UDP and TCP; UDP queries whose
 * question matches a qname entry (its qtype, or 255/65535 for any) too,
 * and, like dnsdist's filter, UDP datagrams whose name starts with a byte
 * over 63 (a compression pointer or a reserved label type).
 * Returning 0 drops the packet, skb->len keeps it whole.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "dnsdist-maps.h"

#define DNS_HEADER_BYTES 12
#define UDP_HEADER_BYTES 8

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct addr4_key);
	__type(value, struct legacy_value);
} v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct addr6_key);
	__type(value, struct legacy_value);
} v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct legacy_qname_key);
	__type(value, struct legacy_qname_value);
} qnames SEC(".maps");

/* The raw question bytes and the key built from them: too big for the stack. */
struct scratch {
	__u8 raw[QNAME_BYTES + 1];
	struct legacy_qname_key key;
	__u32 name_end;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_space SEC(".maps");

static __always_inline int hit(__u64 *counter)
{
	__sync_fetch_and_add(counter, 1);
	return 0;
}

/* Returns 0 to drop (the question matches, or its first label byte is
 * over 63), -1 otherwise. */
static __always_inline int check_qname(struct __sk_buff *skb, __u32 dns_off, __u32 l3_len)
{
	struct legacy_qname_value *val;
	struct scratch *s;
	__u32 zero = 0, avail, pos = 0, i, idx;
	__u16 qtype;

	if (l3_len <= dns_off + DNS_HEADER_BYTES)
		return -1;
	s = bpf_map_lookup_elem(&scratch_space, &zero);
	if (!s)
		return -1;
	/* skb->len starts at the transport header here; the IP length
	 * fields tell how much follows the network header. */
	avail = l3_len - dns_off - DNS_HEADER_BYTES;
	if (avail > QNAME_BYTES)
		avail = QNAME_BYTES;
	if (avail < 1)
		return -1;
	if (bpf_skb_load_bytes_relative(skb, dns_off + DNS_HEADER_BYTES, s->raw, avail & 0xff,
					BPF_HDR_START_NET))
		return -1;
	/* Find the root label. A label length is at most 63, so it can never
	 * be mistaken for an upper-case letter below. */
	for (i = 0; i < 128; i++) {
		__u8 c;

		if (pos >= avail || pos >= QNAME_BYTES)
			return -1;
		idx = pos;
		/* Keep the mask: clang drops it after the range check above,
		 * but the verifier tracks a copy that lacks the bound. */
		asm volatile("" : "+r"(idx));
		c = s->raw[idx & 0xff];
		if (c == 0)
			break;
		if (c > 63)
			/* A compression pointer or reserved label type where the
			 * name starts is no query: dropped, as dnsdist's filter
			 * does. Further on it only means "no match". */
			return pos == 0 ? 0 : -1;
		pos += c + 1;
	}
	if (i == 128)
		return -1;
	/* Round-trip through memory so the verifier sees one unknown bound
	 * instead of a distinct exact one per label count: the copy loop below
	 * is then verified once, not once per possible name length. */
	s->name_end = pos;
	pos = *(volatile __u32 *)&s->name_end;
	if (pos >= QNAME_BYTES)
		return -1;
	/* One pass with a constant index per step and no branches, so the
	 * verifier's work stays linear: copy the name up to its root label,
	 * zero what follows, lower-case A-Z. */
	for (i = 0; i < QNAME_BYTES; i++) {
		__u32 keep = ((pos - i) >> 31) - 1; /* all ones while i <= pos */
		__u32 c = s->raw[i] & keep;
		__u32 upper = ((c - 'A' - 26) >> 31) & ((('A' - 1 - c)) >> 31); /* 'A' <= c <= 'Z' */

		s->key.name[i] = c | (upper << 5);
	}
	i = pos;
	if (bpf_skb_load_bytes_relative(skb, dns_off + DNS_HEADER_BYTES + i + 1, &qtype,
					sizeof(qtype), BPF_HDR_START_NET))
		return -1;
	qtype = bpf_ntohs(qtype);
	val = bpf_map_lookup_elem(&qnames, &s->key);
	if (!val)
		return -1;
	if (val->qtype != qtype && val->qtype != QTYPE_ANY_1X && val->qtype != QTYPE_ANY_2X)
		return -1;
	return hit(&val->counter);
}

SEC("socket")
int dnsdist_ts_socket_filter(struct __sk_buff *skb)
{
	__u64 *counter;
	__u32 dns_off, l3_len;
	__u8 proto;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;
		__u32 key;

		if (bpf_skb_load_bytes_relative(skb, 0, &ip, sizeof(ip), BPF_HDR_START_NET))
			return skb->len;
		key = bpf_ntohl(ip.saddr);
		counter = bpf_map_lookup_elem(&v4, &key);
		if (counter)
			return hit(counter);
		proto = ip.protocol;
		dns_off = ip.ihl * 4 + UDP_HEADER_BYTES;
		l3_len = bpf_ntohs(ip.tot_len);
		/* Non-first fragments carry no question. */
		if (ip.frag_off & bpf_htons(0x1fff))
			return skb->len;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes_relative(skb, 0, &ip6, sizeof(ip6), BPF_HDR_START_NET))
			return skb->len;
		counter = bpf_map_lookup_elem(&v6, &ip6.saddr);
		if (counter)
			return hit(counter);
		proto = ip6.nexthdr;
		dns_off = sizeof(ip6) + UDP_HEADER_BYTES;
		l3_len = sizeof(ip6) + bpf_ntohs(ip6.payload_len);
	} else {
		return skb->len;
	}
	if (proto != IPPROTO_UDP)
		return skb->len;
	if (check_qname(skb, dns_off, l3_len) == 0)
		return 0;
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
