// SPDX-License-Identifier: GPL-2.0
/*
 * dnsdist-ts XDP filter: enforces the BPFFilter maps pinned under
 * /sys/fs/bpf/dnsdist (dnsdist's external "WithActions" layout) before the
 * kernel allocates a socket buffer.
 *
 * Order: exact source (addr-v4/addr-v6) -> longest prefix (cidr4/cidr6) ->
 * qname with the exact qtype, 255, then 65535 (qnames) -> suffix (our own
 * `suffixes` map). An address or range entry whose action is PASS is an
 * allow-list entry and skips the later checks.
 *
 * Only UDP and TCP to the configured DNS ports are looked at; everything
 * else passes. Names are only matched in queries (QR=0, opcode QUERY,
 * qdcount 1) whose question lies entirely inside the packet.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "xdp-filter.h"

/* Load-time configuration: the only .rodata variable, so the loader can
 * write the section as this struct. */
const volatile struct filter_config cfg = { .dns_ports = { 53 }, .n_dns_ports = 1 };

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct map_value);
} v4filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct in6_addr);
	__type(value, struct map_value);
} v6filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct qname_key);
	__type(value, struct map_value);
} qnamefilter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cidr4_key);
	__type(value, struct map_value);
} cidr4filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cidr6_key);
	__type(value, struct map_value);
} cidr6filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct suffix_key);
	__type(value, struct suffix_value);
} suffixfilter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} xdpstats SEC(".maps");

/* Per-packet scratch too large for the 512-byte stack. */
struct scratch {
	struct qname_key key;
	__u64 hash_at[QNAME_BYTES + 1];	/* suffix hash starting at each byte */
	__u32 label_start[MAX_LABELS];
	__u32 name_end;
	__u32 n_labels;
	__u32 l3_off;
	__u32 l4_off;
	__u32 flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_space SEC(".maps");

/* Bound a value the verifier lost track of: the asm stops clang from
 * dropping a mask it can prove redundant. */
#define BOUNDED(x, mask)                                  \
	({                                                \
		__u32 _v = (x);                           \
		asm volatile("" : "+r"(_v));              \
		_v & (mask);                              \
	})

struct packet {
	void *data;
	void *data_end;
	__u32 l3_off;
	__u32 l4_off;
	__u16 l3_proto;
	__u8 l4_proto;
	__u8 fragment;	  /* 1: first fragment, 2: later fragment */
	__u8 extensions;  /* IPv4 options or IPv6 extension headers present */
};

static __always_inline void count(__u32 stat)
{
	__u64 *c = bpf_map_lookup_elem(&xdpstats, &stat);

	if (c)
		*c += 1;
}

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

/* Ethernet, up to two VLAN tags, then IPv4 or IPv6 and their options. */
static __always_inline int parse_headers(struct xdp_md *ctx, struct packet *p)
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
		__u32 hlen;

		if ((void *)(ip + 1) > p->data_end)
			return STAT_PARSE_TRUNCATED;
		hlen = ip->ihl * 4;
		if (hlen < sizeof(*ip) || p->data + off + hlen > p->data_end)
			return STAT_PARSE_TRUNCATED;
		p->extensions = hlen > sizeof(*ip);
		p->l4_proto = ip->protocol;
		p->l4_off = off + hlen;
		if (ip->frag_off & bpf_htons(0x1fff))
			p->fragment = 2;
		else if (ip->frag_off & bpf_htons(0x2000))
			p->fragment = 1;
		return -1;
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = p->data + off;
		__u8 next;

		if ((void *)(ip6 + 1) > p->data_end)
			return STAT_PARSE_TRUNCATED;
		next = ip6->nexthdr;
		off += sizeof(*ip6);
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
				__u16 frag = *(__u16 *)(h + 2);

				if (frag & bpf_htons(0xfff8))
					p->fragment = 2;
				else if (frag & bpf_htons(1))
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
 * Read the question into the scratch key (lower-cased, zero-padded) and
 * hash every suffix. Returns the qtype (host order), or -1 when the packet
 * holds no complete, uncompressed question.
 */
static __always_inline int parse_question(struct packet *p, __u32 dns_off, struct scratch *s,
					   __u32 *n_labels)
{
	__u8 *q = p->data + dns_off + sizeof(struct dnshdr);
	__u32 pos = 0, i, labels = 0, end;
	__u16 *qtype;

	/* Walk the label lengths: each step jumps a whole label. */
	for (i = 0; i < MAX_LABELS; i++) {
		__u8 *c = q + (pos & 0xff);

		if (pos >= QNAME_BYTES || (void *)(c + 1) > p->data_end)
			return -1;
		if (*c == 0)
			break;
		if (*c > 63)
			return -1; /* compression pointer or reserved label type */
		s->label_start[i & (MAX_LABELS - 1)] = pos;
		labels++;
		pos += *c + 1;
	}
	if (i == MAX_LABELS)
		return -1;
	/* Forget the exact length (a round trip through memory) so that the
	 * copy below is verified once, not once per possible name length. */
	s->name_end = pos;
	end = *(volatile __u32 *)&s->name_end;
	if (end >= QNAME_BYTES)
		return -1;
	qtype = (void *)(q + end + 1);
	if ((void *)(qtype + 2) > p->data_end) /* qtype and qclass */
		return -1;
	__builtin_memset(s->key.qname, 0, QNAME_BYTES);
	for (i = 0; i < QNAME_BYTES; i++) {
		__u8 *c = q + i;
		__u32 b, upper;

		if (i > end)
			break;
		if ((void *)(c + 1) > p->data_end)
			return -1;
		b = *c;
		upper = ((b - 'A' - 26) >> 31) & (('A' - 1 - b) >> 31);
		s->key.qname[i] = b | (upper << 5);
	}
	s->key.pad = 0;
	/* Same trick: one imprecise label count instead of 64 exact ones. */
	s->n_labels = labels;
	*n_labels = *(volatile __u32 *)&s->n_labels;
	return bpf_ntohs(*qtype);
}

/*
 * FNV-1a (64-bit) of each suffix, fed from the root label backwards, so
 * one reverse pass yields the hash of every suffix at its label start.
 * The loader computes the same hash for the suffix map's keys.
 */
static __always_inline void hash_suffixes(struct scratch *s)
{
	__u64 h = FNV64_OFFSET;
	__u32 k, j, end = s->name_end;

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

static __always_inline struct map_value *lookup_suffix(struct scratch *s, __u32 labels)
{
	struct suffix_key k = {};
	__u32 i, start;

	/* Longest suffix first: the most specific entry wins. */
	for (i = 0; i < MAX_LABELS; i++) {
		struct map_value *v;

		if (i >= labels)
			break;
		start = s->label_start[i & (MAX_LABELS - 1)];
		k.hash = s->hash_at[start & 0xff];
		k.len = s->name_end + 1 - start;
		v = bpf_map_lookup_elem(&suffixfilter, &k);
		if (v)
			return v; /* a suffix_value starts with a map_value */
	}
	return NULL;
}

static __always_inline __u16 csum_fold(__u64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

/* Sum 16-bit words of [start, start + len) within the packet. */
static __always_inline __u64 csum_add_range(struct packet *p, __u32 start, __u32 len, __u64 sum)
{
	__u8 *base = p->data + BOUNDED(start, 0x1ff);
	__u8 *last;
	__u32 i;

	for (i = 0; i < MAX_CSUM_WORDS; i++) {
		__u16 *w = (void *)(base + i * 2);

		if (i * 2 + 1 >= len)
			break;
		if ((void *)(w + 1) > p->data_end)
			break;
		sum += *w;
	}
	if (len & 1) {
		/* An odd last byte is padded with a zero byte. */
		last = base + BOUNDED(len - 1, 0x1ff);
		if ((void *)(last + 1) <= p->data_end)
			sum += bpf_htons((__u16)*last << 8);
	}
	return sum;
}

/*
 * Turn the query into a TC=1 response in place and send it back out:
 * header flags, empty sections, the frame cut after the question,
 * addresses and ports swapped, checksums valid.
 */
__noinline int reply_truncated(struct xdp_md *ctx, __u32 l3, __u32 l4, __u32 is_ipv6, __u32 new_len)
{
	struct packet pk = {};
	struct packet *p = &pk;
	struct ethhdr *eth;
	struct udphdr *udp;
	struct dnshdr *dns;
	__u8 mac[ETH_ALEN];
	__u16 udp_len;
	int delta;

	if (new_len > 1024 || l3 > 255 || l4 > 511)
		return XDP_DROP;
	delta = (int)new_len - (int)(ctx->data_end - ctx->data);
	if (delta < 0 && bpf_xdp_adjust_tail(ctx, delta))
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
		__u32 addr;
		__u64 sum;

		if ((void *)(ip + 1) > p->data_end)
			return XDP_DROP;
		addr = ip->saddr;
		ip->saddr = ip->daddr;
		ip->daddr = addr;
		ip->ttl = 64;
		ip->tot_len = bpf_htons(new_len - l3);
		ip->frag_off = 0;
		ip->check = 0;
		ip->check = csum_fold(csum_add_range(p, BOUNDED(l3, 0xff), sizeof(*ip), 0));
		/* A zero UDP checksum means "none" over IPv4: keep it that way. */
		if (udp->check) {
			udp->check = 0;
			sum = (__u64)(ip->saddr & 0xffff) + (ip->saddr >> 16) +
			      (ip->daddr & 0xffff) + (ip->daddr >> 16) +
			      bpf_htons(IPPROTO_UDP) + bpf_htons(udp_len);
			sum = csum_add_range(p, BOUNDED(l4, 0x1ff), udp_len, sum);
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
		sum = csum_add_range(p, BOUNDED(l4, 0x1ff), udp_len, sum);
		udp->check = csum_fold(sum);
		/* Zero is illegal for UDP over IPv6. */
		if (udp->check == 0)
			udp->check = 0xffff;
	}
	return XDP_TX;
}

static __always_inline int verdict(struct xdp_md *ctx, struct packet *p, struct map_value *v,
				   __u32 stat_base, int is_query, __u32 dns_off, __u32 qlen,
				   __u16 sport)
{
	hit(v);
	if (v->action == ACTION_PASS) {
		count(STAT_ALLOW);
		return XDP_PASS;
	}
	if (v->action == ACTION_TC && is_query && !p->extensions && !p->fragment &&
	    !is_dns_port(sport)) {
		count(stat_base + 1);
		return reply_truncated(ctx, p->l3_off, p->l4_off, p->l3_proto != bpf_htons(ETH_P_IP),
				       dns_off + sizeof(struct dnshdr) + qlen);
	}
	/* DROP, or TC where a reply cannot be sent safely: a TCP segment, a
	 * fragment, a packet with IP options or extension headers, or a source
	 * port in the DNS port set (a reflection loop between two filters). */
	count(stat_base);
	return XDP_DROP;
}

SEC("xdp")
int xdp_dns_filter(struct xdp_md *ctx)
{
	struct packet p = {
		.data = (void *)(long)ctx->data,
		.data_end = (void *)(long)ctx->data_end,
	};
	struct map_value *v;
	struct scratch *s;
	struct dnshdr *dns;
	__u32 stat_base = 0, zero = 0, labels = 0, dns_off = 0, qlen = 0;
	__u16 sport = 0, dport;
	int r, qtype, is_query = 0;

	r = parse_headers(ctx, &p);
	if (r >= 0) {
		count(r);
		return XDP_PASS;
	}
	s = bpf_map_lookup_elem(&scratch_space, &zero);
	if (!s)
		return XDP_PASS;
	/* Each VLAN/IP-version/option/fragment combination leaves exact
	 * offsets and flags that would have the verifier walk everything below
	 * once per combination; read back from memory they are one state. */
	s->l3_off = p.l3_off;
	s->l4_off = p.l4_off;
	s->flags = p.fragment | (p.extensions << 8) | ((__u32)p.l4_proto << 16) |
		   ((p.l3_proto == bpf_htons(ETH_P_IPV6)) << 24);
	p.l3_off = BOUNDED(*(volatile __u32 *)&s->l3_off, 0xff);
	p.l4_off = BOUNDED(*(volatile __u32 *)&s->l4_off, 0x1ff);
	{
		__u32 f = *(volatile __u32 *)&s->flags;

		p.fragment = f & 0xff;
		p.extensions = (f >> 8) & 0xff;
		p.l4_proto = (f >> 16) & 0xff;
		p.l3_proto = (f >> 24) & 1 ? bpf_htons(ETH_P_IPV6) : bpf_htons(ETH_P_IP);
	}
	if (p.l4_proto == IPPROTO_TCP) {
		struct tcphdr *tcp = p.data + p.l4_off;

		if (p.fragment == 2 || (void *)(tcp + 1) > p.data_end ||
		    !is_dns_port(bpf_ntohs(tcp->dest))) {
			count(STAT_PASS_NOT_DNS);
			return XDP_PASS;
		}
		/* Blocked sources do not get to open a TCP connection either;
		 * a TC entry keeps TCP open: that is where it sends clients. */
		v = lookup_source(&p, &stat_base);
		if (v && v->action == ACTION_DROP && tcp->syn && !tcp->ack) {
			hit(v);
			count(STAT_DROP_TCP_SYN);
			return XDP_DROP;
		}
		count(STAT_PASS);
		return XDP_PASS;
	}
	if (p.l4_proto == L4_OPAQUE) {
		/* No ports to check: a blocked source is dropped all the same. */
		v = lookup_source(&p, &stat_base);
		if (v && v->action != ACTION_PASS)
			goto decide;
		count(STAT_PARSE_EXTHDR);
		return XDP_PASS;
	}
	if (p.l4_proto != IPPROTO_UDP) {
		count(STAT_PASS_NOT_DNS);
		return XDP_PASS;
	}
	if (p.fragment == 2) {
		/* A later fragment has no UDP header: only its source can be judged. */
		v = lookup_source(&p, &stat_base);
		if (v)
			goto decide;
		count(STAT_FRAGMENT);
		return XDP_PASS;
	}
	{
		struct udphdr *udp = p.data + p.l4_off;

		if ((void *)(udp + 1) > p.data_end) {
			v = lookup_source(&p, &stat_base);
			if (v && v->action != ACTION_PASS)
				goto decide;
			count(STAT_PARSE_TRUNCATED);
			return XDP_PASS;
		}
		sport = bpf_ntohs(udp->source);
		dport = bpf_ntohs(udp->dest);
	}
	if (!is_dns_port(dport)) {
		count(STAT_PASS_NOT_DNS);
		return XDP_PASS;
	}
	dns_off = p.l4_off + sizeof(struct udphdr);
	dns = p.data + dns_off;
	if ((void *)(dns + 1) > p.data_end) {
		/* Not even a DNS header: its source may still be blocked. */
		v = lookup_source(&p, &stat_base);
		if (v)
			goto decide;
		count(STAT_PARSE_TRUNCATED);
		return XDP_PASS;
	}
	/* Source entries first: a DROP or PASS needs nothing from the question. */
	v = lookup_source(&p, &stat_base);
	if (v && v->action != ACTION_TC)
		goto decide;
	/* QR=0, opcode QUERY, exactly one question. */
	qtype = -1;
	if ((dns->flags & bpf_htons(0xf800)) == 0 && dns->qdcount == bpf_htons(1))
		qtype = parse_question(&p, dns_off, s, &labels);
	if (qtype >= 0) {
		is_query = 1;
		qlen = s->name_end + 1 + 4;
	}
	if (v)
		goto decide; /* TC: the reply needs the question's length */
	if (qtype < 0) {
		count((dns->flags & bpf_htons(0x8000)) ? STAT_NOT_QUERY : STAT_PARSE_QNAME);
		return XDP_PASS;
	}
	stat_base = STAT_QNAME_BASE;
	s->key.qtype = qtype;
	v = bpf_map_lookup_elem(&qnamefilter, &s->key);
	if (!v) {
		s->key.qtype = QTYPE_ANY_1X;
		v = bpf_map_lookup_elem(&qnamefilter, &s->key);
	}
	if (!v) {
		s->key.qtype = QTYPE_ANY_2X;
		v = bpf_map_lookup_elem(&qnamefilter, &s->key);
	}
	if (v)
		goto decide;
	stat_base = STAT_SUFFIX_BASE;
	hash_suffixes(s);
	v = lookup_suffix(s, labels);
	if (v)
		goto decide;
	count(STAT_PASS);
	return XDP_PASS;
decide:
	return verdict(ctx, &p, v, stat_base, is_query, dns_off, qlen, sport);
}

char LICENSE[] SEC("license") = "GPL";
