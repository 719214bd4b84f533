/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The question's name: read into the scratch key (lower-cased,
 * zero-padded, its labels noted) and fingerprinted for the name index.
 */
#ifndef DNSDIST_TS_XDP_QUESTION_H
#define DNSDIST_TS_XDP_QUESTION_H

#include <linux/bpf.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"

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

#endif
