// SPDX-License-Identifier: GPL-2.0
/*
 * dnsdist-ts XDP filter: enforces the BPFFilter maps pinned under
 * /sys/fs/bpf/dnsdist (dnsdist's external "WithActions" layout) before the
 * kernel allocates a socket buffer.
 *
 * Order: exact source (addr-v4/addr-v6) -> longest prefix (cidr4/cidr6) ->
 * qname with the exact qtype, 255, then 65535 (qnames) -> suffix (our own
 * `suffixes` map). An address or range entry whose action is PASS is an
 * allow-list entry and skips the later checks. A name index (`name-index`)
 * lets queries whose name cannot be blocked skip the name lookups.
 *
 * Only UDP and TCP to the configured DNS ports are looked at; everything
 * else passes. Names are only matched in queries (QR=0, opcode QUERY,
 * qdcount 1) whose question lies entirely inside the UDP payload.
 *
 * Maps are pinned by name (LIBBPF_PIN_BY_NAME) so that a generic loader
 * such as xdp-loader reuses them from its pin directory; the dnsdist-ts
 * loader sets every pin path itself (dnsdist's file names).
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
#include "index-guard.h"

/* Load-time configuration: the only .rodata variable, so the loader can
 * write the section as this struct. */
const volatile struct filter_config cfg = { .dns_ports = { 53 }, .n_dns_ports = 1 };

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct map_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} v4filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct in6_addr);
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
	__u32 l3_end;	  /* where the IP datagram ends by its own length field */
	__u16 l3_proto;
	__u8 l4_proto;
	__u8 fragment;	  /* 1: first fragment, 2: later fragment */
	__u8 extensions;  /* IPv4 options or IPv6 extension headers present */
};

/* What the name index says, read once per query. */
struct index_view {
	__u32 mask;
	__u8 qnames;	/* the qname region may rule names out (index-guard.h) */
	__u8 suffixes;	/* the suffix region may */
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
 * Eight name bytes (little-endian) with A-Z lower-cased (label lengths,
 * at most 63, are below 'A') and, when the name ends inside them (`last`
 * is the index of its last byte in this word, under 7), the bytes after it
 * cleared: the key must be zero past the name.
 */
static __always_inline __u64 lower_word(__u64 x, __u32 last)
{
	const __u64 ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	__u64 low7 = x & ~high;
	/* Per byte, high bit set when its low seven bits are >= 'A' / > 'Z'. */
	__u64 ge_a = low7 + (0x80 - 'A') * ones;
	__u64 gt_z = low7 + (0x7f - 'Z') * ones;
	__u64 upper = ge_a & ~gt_z & ~x & high;

	x |= upper >> 2; /* 0x80 >> 2 == 0x20, the case bit */
	if (last < 7)
		x &= (1ULL << ((last + 1) * 8)) - 1;
	return x;
}

/* The scratch space of this CPU (never NULL for index 0 of a 1-entry array). */
static __always_inline struct scratch *scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch_space, &zero);
}

/*
 * Read the question into the scratch key (lower-cased, zero-padded) and
 * note its labels. Returns the qtype (host order), or -1 when the UDP
 * payload (`dns_len` bytes at `dns_off`, at least a header's worth) holds no
 * complete, uncompressed question.
 *
 * A global function: the verifier checks it once, whatever the caller's
 * state. Inlined, its 255-step copy was verified once per header
 * combination reaching it. It does not change the packet.
 */
__noinline int parse_question(struct xdp_md *ctx, __u32 dns_off, __u32 dns_len)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct scratch *s = scratch();
	__u32 pos = 0, i, labels = 0, end, qtype;
	__u8 *q, *t;

	if (!s || dns_off > 0x1ff + sizeof(struct udphdr) || dns_len < sizeof(struct dnshdr))
		return -1;
	q = data + BOUNDED(dns_off, 0x3ff) + sizeof(struct dnshdr);
	/* Walk the label lengths: each step jumps a whole label. */
	for (i = 0; i < MAX_LABELS; i++) {
		__u8 *c = q + (pos & 0xff);

		if (pos >= QNAME_BYTES || (void *)(c + 1) > data_end)
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
	/* Forget the exact length and label count (a round trip through
	 * memory) so that the copy below is verified once, not once per
	 * possible name shape. */
	s->name_end = pos;
	s->n_labels = labels;
	end = *(volatile __u32 *)&s->name_end;
	if (end >= QNAME_BYTES)
		return -1;
	/* The whole question must lie inside the UDP payload: bytes after it
	 * (Ethernet padding, the rest of a fragmented datagram) are not DNS. */
	if (end + 1 + 4 > dns_len - sizeof(struct dnshdr))
		return -1;
	t = q + end + 1;
	if ((void *)(t + 4) > data_end) /* qtype and qclass */
		return -1;
	/* Byte-wise: the qtype sits at any offset. */
	qtype = ((__u32)t[0] << 8) | t[1];
	__builtin_memset(s->key.qname, 0, QNAME_BYTES);
	s->key.pad = 0;
	s->key.qtype = 0; /* fingerprints read past the name: see suffix_fp */
	/* Eight bytes at a time while eight are inside the packet, the rest
	 * (at most the last seven of the name) byte by byte. */
	for (i = 0; i < QNAME_BYTES + 1; i += 8) {
		__u8 *c = q + i;

		if (i > end || (void *)(c + 8) > data_end)
			break;
		*(__u64 *)(s->key.qname + i) = lower_word(*(__u64 *)c, end - i);
	}
	for (; i < QNAME_BYTES; i++) {
		__u8 *c = q + i;
		__u32 b, upper;

		if (i > end)
			break;
		if ((void *)(c + 1) > data_end)
			return -1;
		b = *c;
		upper = ((b - 'A' - 26) >> 31) & (('A' - 1 - b) >> 31);
		s->key.qname[i] = b | (upper << 5);
	}
	return qtype;
}

/*
 * Index fingerprints of the (lower-cased) name bytes from `start`, `len`
 * bytes long and ending where the name ends: the length and `words`
 * little-endian words from `start`. No masking and no per-byte work: every
 * byte after the name is zero (the key is zero-padded, its qtype is zeroed
 * while fingerprints are taken, and fp_slack is never written). The loader
 * computes the same (packages/bpf-filter/src/name-fingerprint.ts).
 */
static __always_inline __u64 fp_mix(__u64 h)
{
	h *= FP_K2;
	return h ^ (h >> 32);
}

/* A suffix: its first FP_WORDS words (cheap enough for 127 suffixes). */
static __always_inline __u64 suffix_fp(struct scratch *s, __u32 start, __u32 len)
{
	__u8 *base = s->key.qname + BOUNDED(start, 0xff);
	__u64 h = (__u64)len * FP_K0;
	__u32 w;

#pragma unroll
	for (w = 0; w < FP_WORDS; w++) {
		h = (h ^ *(__u64 *)(base + w * 8)) * FP_K1;
		h ^= h >> 31;
	}
	return fp_mix(h);
}

/* The whole name: every word it touches (ceil(len / 8), at most 32). */
static __always_inline __u64 qname_fp(struct scratch *s, __u32 len)
{
	__u64 h = (__u64)len * FP_K0;
	__u32 w;

	for (w = 0; w < FP_MAX_WORDS; w++) {
		if (w * 8 >= len)
			break;
		h = (h ^ *(__u64 *)(s->key.qname + w * 8)) * FP_K1;
		h ^= h >> 31;
	}
	return fp_mix(h);
}

/* An index word, 0 when it cannot be read (a part then counts as off). */
static __always_inline __u64 index_word(__u32 k)
{
	__u64 *v = bpf_map_lookup_elem(&nameindex, &k);

	return v ? *v : 0;
}

static __always_inline void read_index(struct index_view *ix)
{
	__u64 slots, now;

	ix->qnames = 0;
	ix->suffixes = 0;
	ix->mask = 0;
	slots = index_word(NAME_INDEX_SLOTS);
	if (slots < NAME_INDEX_MIN_SLOTS || slots > NAME_INDEX_MAX_SLOTS || (slots & (slots - 1)))
		return;
	ix->mask = slots - 1;
	now = bpf_jiffies64();
	ix->qnames = index_region_usable(index_word(NAME_INDEX_QNAMES), index_word(NAME_INDEX_QNAMES_UNTIL), now);
	ix->suffixes = index_region_usable(index_word(NAME_INDEX_SUFFIXES), index_word(NAME_INDEX_SUFFIXES_UNTIL), now);
}

/* A slot of the index: 0 only when it is readable and clear (a slot we
 * cannot read counts as set: never a false "absent"). */
static __always_inline int index_slot(__u32 k)
{
	__u64 *v = bpf_map_lookup_elem(&nameindex, &k);

	return !(v && !*v);
}

/* Whether a blocked name (region 0) or suffix (region 1) of wire length `len` may exist. */
static __always_inline int index_has_length(struct index_view *ix, __u32 region, __u32 len)
{
	return index_slot(NAME_INDEX_FIRST_SLOT + 2 * (ix->mask + 1) + region * NAME_INDEX_LENGTHS + (len & 0xff));
}

/* Whether one with fingerprint `fp` may exist: both slots it picks are set. */
static __always_inline int index_has_fp(struct index_view *ix, __u32 region, __u64 fp)
{
	__u32 base = NAME_INDEX_FIRST_SLOT + region * (ix->mask + 1);

	return index_slot(base + ((__u32)fp & ix->mask)) && index_slot(base + ((__u32)(fp >> 32) & ix->mask));
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

SEC("xdp")
int xdp_dns_filter(struct xdp_md *ctx)
{
	struct packet p = {
		.data = (void *)(long)ctx->data,
		.data_end = (void *)(long)ctx->data_end,
	};
	struct map_value *v = NULL;
	struct scratch *s;
	struct dnshdr *dns;
	__u32 stat_base = 0, dns_off = 0, dns_len, qlen = 0, udp_len;
	__u16 sport = 0, dport;
	int r, fast, qtype, is_query = 0;
	__u8 action;

	fast = fast_path(p.data, p.data_end, &v, &stat_base);
	if (fast == FAST_NOT_DNS) {
		count(STAT_PASS_NOT_DNS);
		return XDP_PASS;
	}
	/* A UDP query from a source whose entry says DROP is dropped at once:
	 * every later branch would drop it too, whatever its DNS content. */
	if (fast == FAST_LOOKED_UP && v && v->action == ACTION_DROP) {
		hit(v);
		count(stat_base);
		return XDP_DROP;
	}
	r = parse_headers(&p);
	if (r >= 0) {
		count(r);
		return XDP_PASS;
	}
	/* The same two early exits for the shapes the fast path left to the
	 * full parser (VLAN tags, IPv4 options, IPv6 extension headers). UDP
	 * and TCP both start with the source and destination ports. */
	if (p.fragment != 2 && (p.l4_proto == IPPROTO_UDP || p.l4_proto == IPPROTO_TCP)) {
		__u16 *ports = p.data + p.l4_off;

		if ((void *)(ports + 2) <= p.data_end) {
			if (!is_dns_port(bpf_ntohs(ports[1]))) {
				count(STAT_PASS_NOT_DNS);
				return XDP_PASS;
			}
			if (p.l4_proto == IPPROTO_UDP && fast != FAST_LOOKED_UP) {
				v = lookup_source(&p, &stat_base);
				if (v && v->action == ACTION_DROP) {
					hit(v);
					count(stat_base);
					return XDP_DROP;
				}
			}
		}
	}
	s = scratch();
	if (!s)
		return XDP_PASS;
	/* Each VLAN/IP-version/option/fragment combination leaves exact
	 * offsets and flags that would have the verifier walk everything below
	 * once per combination; read back from memory they are one state. */
	s->l3_off = p.l3_off;
	s->l4_off = p.l4_off;
	s->l3_end = p.l3_end;
	s->flags = p.fragment | (p.extensions << 8) | ((__u32)p.l4_proto << 16) |
		   ((p.l3_proto == bpf_htons(ETH_P_IPV6)) << 24);
	p.l3_off = BOUNDED(*(volatile __u32 *)&s->l3_off, 0xff);
	p.l4_off = BOUNDED(*(volatile __u32 *)&s->l4_off, 0x1ff);
	p.l3_end = BOUNDED(*(volatile __u32 *)&s->l3_end, 0x1ffff);
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
			goto source;
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
			goto source;
		count(STAT_FRAGMENT);
		return XDP_PASS;
	}
	{
		struct udphdr *udp = p.data + p.l4_off;

		if ((void *)(udp + 1) > p.data_end) {
			v = lookup_source(&p, &stat_base);
			if (v && v->action != ACTION_PASS)
				goto source;
			count(STAT_PARSE_TRUNCATED);
			return XDP_PASS;
		}
		sport = bpf_ntohs(udp->source);
		dport = bpf_ntohs(udp->dest);
		udp_len = bpf_ntohs(udp->len);
	}
	if (!is_dns_port(dport)) {
		count(STAT_PASS_NOT_DNS);
		return XDP_PASS;
	}
	/* The DNS payload is what the UDP length says, within the IP datagram
	 * (a first fragment holds only the start of it); never Ethernet
	 * padding. From here on `v` is the source entry looked up above (one
	 * was: the ports are inside the packet). */
	if (udp_len < sizeof(struct udphdr) || p.l3_end < p.l4_off + sizeof(struct udphdr)) {
		if (v && v->action != ACTION_PASS)
			goto source;
		count(STAT_PARSE_HEADER);
		return XDP_PASS;
	}
	if (udp_len > p.l3_end - p.l4_off)
		udp_len = p.l3_end - p.l4_off;
	dns_len = udp_len - sizeof(struct udphdr);
	dns_off = p.l4_off + sizeof(struct udphdr);
	dns = p.data + dns_off;
	if ((void *)(dns + 1) > p.data_end || dns_len < sizeof(*dns)) {
		/* Not even a DNS header: its source may still be blocked. */
		if (v)
			goto source;
		count(STAT_PARSE_TRUNCATED);
		return XDP_PASS;
	}
	/* Source entries first: a PASS needs nothing from the question. */
	if (v && v->action != ACTION_TC)
		goto source;
	/* QR=0, opcode QUERY, exactly one question. */
	qtype = -1;
	if ((dns->flags & bpf_htons(0xf800)) == 0 && dns->qdcount == bpf_htons(1))
		qtype = parse_question(ctx, dns_off, dns_len);
	if (qtype >= 0) {
		is_query = 1;
		qlen = *(volatile __u32 *)&s->name_end + 1 + 4;
	}
	if (v)
		goto source; /* TC: the reply needs the question's length */
	if (qtype < 0) {
		count((dns->flags & bpf_htons(0x8000)) ? STAT_NOT_QUERY : STAT_PARSE_QNAME);
		return XDP_PASS;
	}
	r = lookup_names(qtype);
	if (!r) {
		count(STAT_PASS);
		return XDP_PASS;
	}
	stat_base = (r >> 8) & 0xff;
	action = r & 0xff;
	goto decide;
source:
	hit(v);
	action = v->action;
decide:
	return verdict(ctx, &p, action, stat_base, is_query, dns_off, qlen, sport);
}

/*
 * libxdp's run configuration (xdp-tools' XDP_RUN_CONFIG layout, read from
 * BTF by its dispatcher; our loader ignores the section): run before
 * programs of the default priority (50), so abusive queries go first, and
 * let the next program see whatever we pass. DROP and TX end the chain.
 */
struct {
	__uint(priority, 20);
	__uint(XDP_PASS, 1);
} _xdp_dns_filter SEC(".xdp_run_config");

char LICENSE[] SEC("license") = "GPL";
