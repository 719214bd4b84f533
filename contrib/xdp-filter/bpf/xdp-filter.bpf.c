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
 *
 * This file holds the order of the checks: xdp_dns_filter at the bottom
 * runs the stages above it, each a few checks over the helpers in the
 * headers below (one concern each); the map layouts are dnsdist-maps.h's.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "xdp-filter.h"
#include "maps.h"		/* config, maps, scratch space */
#include "parse.h"		/* Ethernet, VLAN, IPv4/IPv6; the fast path */
#include "question.h"		/* the name into the key; fingerprints */
#include "name-index.h"		/* may a blocked name have this length, this fingerprint? */
#include "lookup.h"		/* source, qname, suffix lookups; hit counters */
#include "tc-reply.h"		/* the TC=1 reply */
#include "verdict.h"		/* acting on a match; per-CPU counters */

/*
 * Each stage below returns an XDP action (the packet's fate, counted),
 * NEXT for the next stage to look further, or the kind of entry that
 * decides: the source's (its hit not counted yet) or a name's (counted by
 * lookup_names). verdict() acts on the entry.
 */
#define NEXT -1
#define SOURCE_MATCHED -2
#define NAME_MATCHED -3

/* What the stages learn of a packet, for the stages after them and the verdict. */
struct judgement {
	struct map_value *v;	/* the source's entry, once looked up (NULL: none) */
	struct scratch *s;
	struct dnshdr *dns;
	__u32 stat_base;	/* counter of the entry that matched (+1: its TC variant) */
	__u32 dns_off;
	__u32 dns_len;
	__u32 qlen;		/* the question's length, in a query */
	__u16 sport;
	int fast;		/* what fast_path() did */
	int is_query;
	__u8 action;		/* what the matching entry says */
};

/* The source's entry decides; xdp_dns_filter counts its hit. */
static __always_inline int source_matched(struct judgement *j)
{
	j->action = j->v->action;
	return SOURCE_MATCHED;
}

/* Traffic to no DNS port passes; a UDP query from a source whose entry says
 * DROP is dropped at once: every later branch would drop it too, whatever
 * its DNS content. */
static __always_inline int judge_fast_path(struct packet *p, struct judgement *j)
{
	j->fast = fast_path(p->data, p->data_end, &j->v, &j->stat_base);
	if (j->fast == FAST_NOT_DNS) {
		count(STAT_PASS_NOT_DNS);
		return XDP_PASS;
	}
	if (j->fast == FAST_LOOKED_UP && j->v && j->v->action == ACTION_DROP) {
		hit(j->v);
		count(j->stat_base);
		return XDP_DROP;
	}
	return NEXT;
}

/*
 * Each VLAN/IP-version/option/fragment combination leaves exact offsets
 * and flags that would have the verifier walk everything below once per
 * combination; read back from memory they are one state.
 */
static __always_inline void forget_exact_shape(struct packet *p, struct scratch *s)
{
	s->l3_off = p->l3_off;
	s->l4_off = p->l4_off;
	s->l3_end = p->l3_end;
	s->flags = p->fragment | (p->extensions << 8) | ((__u32)p->l4_proto << 16) |
		   ((p->l3_proto == bpf_htons(ETH_P_IPV6)) << 24);
	p->l3_off = BOUNDED(*(volatile __u32 *)&s->l3_off, 0xff);
	p->l4_off = BOUNDED(*(volatile __u32 *)&s->l4_off, 0x1ff);
	p->l3_end = BOUNDED(*(volatile __u32 *)&s->l3_end, 0x1ffff);
	{
		__u32 f = *(volatile __u32 *)&s->flags;

		p->fragment = f & 0xff;
		p->extensions = (f >> 8) & 0xff;
		p->l4_proto = (f >> 16) & 0xff;
		p->l3_proto = (f >> 24) & 1 ? bpf_htons(ETH_P_IPV6) : bpf_htons(ETH_P_IP);
	}
}

/*
 * The full parser, then the fast path's two early exits for the shapes it
 * left to the parser (VLAN tags, IPv4 options, IPv6 extension headers).
 * UDP and TCP both start with the source and destination ports.
 */
static __always_inline int judge_headers(struct packet *p, struct judgement *j)
{
	int r = parse_headers(p);

	if (r >= 0) {
		count(r);
		return XDP_PASS;
	}
	if (p->fragment != 2 && (p->l4_proto == IPPROTO_UDP || p->l4_proto == IPPROTO_TCP)) {
		__u16 *ports = p->data + p->l4_off;

		if ((void *)(ports + 2) <= p->data_end) {
			if (!is_dns_port(bpf_ntohs(ports[1]))) {
				count(STAT_PASS_NOT_DNS);
				return XDP_PASS;
			}
			if (p->l4_proto == IPPROTO_UDP && j->fast != FAST_LOOKED_UP) {
				j->v = lookup_source(p, &j->stat_base);
				if (j->v && j->v->action == ACTION_DROP) {
					hit(j->v);
					count(j->stat_base);
					return XDP_DROP;
				}
			}
		}
	}
	j->s = scratch();
	if (!j->s)
		return XDP_PASS;
	forget_exact_shape(p, j->s);
	return NEXT;
}

/* TCP to a DNS port. Blocked sources do not get to open a connection
 * either; a TC entry keeps TCP open: that is where it sends clients. */
static __always_inline int judge_tcp(struct packet *p, struct judgement *j)
{
	struct tcphdr *tcp = p->data + p->l4_off;

	if (p->fragment == 2 || (void *)(tcp + 1) > p->data_end ||
	    !is_dns_port(bpf_ntohs(tcp->dest))) {
		count(STAT_PASS_NOT_DNS);
		return XDP_PASS;
	}
	j->v = lookup_source(p, &j->stat_base);
	if (j->v && j->v->action == ACTION_DROP && tcp->syn && !tcp->ack) {
		hit(j->v);
		count(STAT_DROP_TCP_SYN);
		return XDP_DROP;
	}
	count(STAT_PASS);
	return XDP_PASS;
}

/* Whatever is not a UDP datagram with its header: TCP, what has no ports
 * we can reach, later fragments. Only its source can be judged. */
static __always_inline int judge_transport(struct packet *p, struct judgement *j)
{
	if (p->l4_proto == IPPROTO_TCP)
		return judge_tcp(p, j);
	if (p->l4_proto == L4_OPAQUE) {
		/* No ports to check: a blocked source is dropped all the same. */
		j->v = lookup_source(p, &j->stat_base);
		if (j->v && j->v->action != ACTION_PASS)
			return source_matched(j);
		count(STAT_PARSE_EXTHDR);
		return XDP_PASS;
	}
	if (p->l4_proto != IPPROTO_UDP) {
		count(STAT_PASS_NOT_DNS);
		return XDP_PASS;
	}
	if (p->fragment == 2) {
		/* A later fragment has no UDP header: only its source can be judged. */
		j->v = lookup_source(p, &j->stat_base);
		if (j->v)
			return source_matched(j);
		count(STAT_FRAGMENT);
		return XDP_PASS;
	}
	return NEXT;
}

/*
 * A UDP datagram to a DNS port: its DNS header, then the source's entry
 * (looked up by now, the ports being inside the packet) unless it is TC,
 * which needs the question's length for its reply.
 */
static __always_inline int judge_udp(struct packet *p, struct judgement *j)
{
	struct udphdr *udp = p->data + p->l4_off;
	__u32 udp_len;
	__u16 dport;

	if ((void *)(udp + 1) > p->data_end) {
		j->v = lookup_source(p, &j->stat_base);
		if (j->v && j->v->action != ACTION_PASS)
			return source_matched(j);
		count(STAT_PARSE_TRUNCATED);
		return XDP_PASS;
	}
	j->sport = bpf_ntohs(udp->source);
	dport = bpf_ntohs(udp->dest);
	udp_len = bpf_ntohs(udp->len);
	if (!is_dns_port(dport)) {
		count(STAT_PASS_NOT_DNS);
		return XDP_PASS;
	}
	/* The DNS payload is what the UDP length says, within the IP datagram
	 * (a first fragment holds only the start of it); never Ethernet
	 * padding. */
	if (udp_len < sizeof(struct udphdr) || p->l3_end < p->l4_off + sizeof(struct udphdr)) {
		if (j->v && j->v->action != ACTION_PASS)
			return source_matched(j);
		count(STAT_PARSE_HEADER);
		return XDP_PASS;
	}
	if (udp_len > p->l3_end - p->l4_off)
		udp_len = p->l3_end - p->l4_off;
	j->dns_len = udp_len - sizeof(struct udphdr);
	j->dns_off = p->l4_off + sizeof(struct udphdr);
	j->dns = p->data + j->dns_off;
	if ((void *)(j->dns + 1) > p->data_end || j->dns_len < sizeof(*j->dns)) {
		/* Not even a DNS header: its source may still be blocked. */
		if (j->v)
			return source_matched(j);
		count(STAT_PARSE_TRUNCATED);
		return XDP_PASS;
	}
	/* Source entries first: a PASS needs nothing from the question. */
	if (j->v && j->v->action != ACTION_TC)
		return source_matched(j);
	return NEXT;
}

/* The question (QR=0, opcode QUERY, exactly one), then the names. */
static __always_inline int judge_question(struct xdp_md *ctx, struct judgement *j)
{
	int qtype = -1, r;

	if ((j->dns->flags & bpf_htons(0xf800)) == 0 && j->dns->qdcount == bpf_htons(1))
		qtype = parse_question(ctx, j->dns_off, j->dns_len);
	if (qtype >= 0) {
		j->is_query = 1;
		j->qlen = *(volatile __u32 *)&j->s->name_end + 1 + 4;
	}
	if (j->v)
		return source_matched(j); /* TC: the reply needs the question's length */
	if (qtype < 0) {
		count((j->dns->flags & bpf_htons(0x8000)) ? STAT_NOT_QUERY : STAT_PARSE_QNAME);
		return XDP_PASS;
	}
	r = lookup_names(qtype);
	if (!r) {
		count(STAT_PASS);
		return XDP_PASS;
	}
	j->stat_base = (r >> 8) & 0xff;
	j->action = r & 0xff;
	return NAME_MATCHED;
}

SEC("xdp")
int xdp_dns_filter(struct xdp_md *ctx)
{
	struct packet p = {
		.data = (void *)(long)ctx->data,
		.data_end = (void *)(long)ctx->data_end,
	};
	struct judgement j = {};
	int r;

	r = judge_fast_path(&p, &j);
	if (r == NEXT)
		r = judge_headers(&p, &j);
	if (r == NEXT)
		r = judge_transport(&p, &j);
	if (r == NEXT)
		r = judge_udp(&p, &j);
	if (r == NEXT)
		r = judge_question(ctx, &j);
	if (r == SOURCE_MATCHED)
		hit(j.v);
	else if (r != NAME_MATCHED)
		return r;
	return verdict(ctx, &p, j.action, j.stat_base, j.is_query, j.dns_off, j.qlen, j.sport);
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
