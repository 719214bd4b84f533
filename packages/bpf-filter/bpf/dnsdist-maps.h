/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The layouts of the maps pinned under /sys/fs/bpf/dnsdist (dnsdist's and
 * dnsdist-ts's own) and of the XDP filter's load-time configuration: the
 * one description both BPF programs include (socket-filter.bpf.c here,
 * contrib/xdp-filter) and the TypeScript side is generated from
 * (scripts/gen-layouts.ts reads the BTF clang emits for this header into
 * packages/bpf-filter/src/generated/layouts.ts; `make layouts` after a
 * change). Every macro here must be an integer constant expression: the
 * generator exports them all.
 */
#ifndef DNSDIST_TS_MAPS_H
#define DNSDIST_TS_MAPS_H

#include <linux/types.h>

/* Bytes of a name in a qname key: wire format, lower-cased, zero-padded. */
#define QNAME_BYTES 255
/* Qtypes meaning "any type" in a qname entry (dnsdist 1.x, then 2.x). */
#define QTYPE_ANY_1X 255
#define QTYPE_ANY_2X 65535

/* dnsdist's MatchAction: what an entry tells its reader to do. */
enum dns_action { ACTION_PASS = 0, ACTION_DROP = 1, ACTION_TC = 2 };

/*
 * dnsdist's external ("WithActions") format, read by the XDP filter.
 * Address keys: IPv4 as the numeric address in host byte order, IPv6 as
 * its 16 network-order bytes. Every value is a map_value.
 */
struct addr4_key {
	__u32 addr;
};

struct addr6_key {
	__u8 addr[16];
};

/* dnsdist's CounterAndActionValue. */
struct map_value {
	__u64 counter;
	__u8 action;
	__u8 pad[7];
};

/* dnsdist's external qname key: 258 bytes. */
struct qname_key {
	__u8 qname[QNAME_BYTES];
	__u8 pad;
	__u16 qtype;
};

/* LPM-trie keys: the prefix length (host order), then the address. */
struct cidr4_key {
	__u32 prefixlen;
	__u32 addr;
};

struct cidr6_key {
	__u32 prefixlen;
	__u8 addr[16];
};

/*
 * dnsdist's legacy format, read by the internal socket filter: the same
 * address keys with a bare hit counter, and qname keys without the qtype,
 * which the value holds instead.
 */
struct legacy_value {
	__u64 counter;
};

struct legacy_qname_key {
	__u8 name[QNAME_BYTES];
};

struct legacy_qname_value {
	__u64 counter;
	__u16 qtype;
};

/* Our suffix map (`suffixes`): FNV-1a 64 of the lower-cased wire suffix
 * fed from its last byte backwards, and the suffix's wire length. */
#define FNV64_OFFSET 0xcbf29ce484222325ULL
#define FNV64_PRIME 0x100000001b3ULL

struct suffix_key {
	__u64 hash;
	__u32 len;
	__u32 pad;
};

/* Suffix values start like map_value (the program reads only that part)
 * and carry the suffix's wire name so that tools can list the entries. */
struct suffix_value {
	__u64 counter;
	__u8 action;
	__u8 pad[7];
	__u8 name[256];
};

/*
 * The name index (pinned as `name-index`, an array of u64): a Bloom filter
 * over the blocked names and suffixes, so that a query whose name cannot be
 * blocked skips the 258-byte qname lookups and the suffix lookups.
 *
 *   [0]  slots per fingerprint region (a power of two)
 *   [1]  qname part's state: NAME_INDEX_TRUSTED, NAME_INDEX_GUARDED, else off
 *   [2]  suffix part's state
 *   [3]  guarded qname part: usable up to this jiffy (written by the guard)
 *   [4]  guarded suffix part: the same
 *   [5]  the guard's current period (ns; part of its report)
 *   [6..7] zero
 *   [8..15] the rest of the guard's report (read by tools, never by the program)
 *   then the qname fingerprint region and the suffix fingerprint region
 *   (`slots` each; a name sets two slots picked by its fingerprint), then
 *   256 qname-length slots and 256 suffix-length slots (by wire length).
 *
 * Writers only ever store 1 into a slot (no read-modify-write, so
 * concurrent writers cannot lose each other's marks); only a rebuild
 * clears slots, with its part marked off meanwhile. A TRUSTED part is
 * used as is (every writer is assumed to mark what it inserts); a GUARDED
 * part only while the index guard (contrib/xdp-filter/bpf/index-guard.bpf.c)
 * has recently scanned the maps and marked every entry: see
 * contrib/xdp-filter/bpf/index-guard.h and
 * packages/bpf-filter/src/name-index.ts for the protocol.
 */
#define NAME_INDEX_SLOTS 0
#define NAME_INDEX_QNAMES 1
#define NAME_INDEX_SUFFIXES 2
#define NAME_INDEX_QNAMES_UNTIL 3
#define NAME_INDEX_SUFFIXES_UNTIL 4
#define NAME_INDEX_GUARD_PERIOD_NS 5
/* The guard's report: CLOCK_MONOTONIC ns of the start of the last scan that
 * vouched for each part, the last scan's duration and entry counts, the
 * suffix entries it could not verify, its freshness window and its estimate
 * of a jiffy. */
#define NAME_INDEX_QNAMES_SCANNED 8
#define NAME_INDEX_SUFFIXES_SCANNED 9
#define NAME_INDEX_SCAN_NS 10
#define NAME_INDEX_SCAN_QNAMES 11
#define NAME_INDEX_SCAN_SUFFIXES 12
#define NAME_INDEX_SCAN_UNVERIFIED 13
#define NAME_INDEX_GUARD_FRESH_NS 14
#define NAME_INDEX_GUARD_TICK_NS 15
#define NAME_INDEX_FIRST_SLOT 16
#define NAME_INDEX_LENGTHS 256
#define NAME_INDEX_TRUSTED 0x7864692d73746444ULL /* "Ddts-idx" */
#define NAME_INDEX_GUARDED 0x7864692d73746447ULL /* "Gdts-idx" */
#define NAME_INDEX_MIN_SLOTS 4096
#define NAME_INDEX_MAX_SLOTS (1U << 22)
/* Default size, matching 1024-entry maps (16 slots per entry). */
#define NAME_INDEX_DEFAULT_ENTRIES (NAME_INDEX_FIRST_SLOT + 2 * 16384 + 2 * NAME_INDEX_LENGTHS)

/* The index guard's defaults (its .rodata, set by the loader): a scan every
 * 20 ms; a scan vouches for 60 ms; at most 65,536 entries per map and scan
 * (beyond that it does not vouch, and the program looks names up). A scan
 * that takes longer than 1/GUARD_CPU_SHARE of the period stretches the
 * period: the guard never takes more than 1/20 of a CPU. */
#define GUARD_PERIOD_NS 20000000ULL
#define GUARD_FRESH_NS 60000000ULL
#define GUARD_MAX_ENTRIES 65536
#define GUARD_CPU_SHARE 20
/* How long the guard measures jiffies against CLOCK_MONOTONIC before it
 * vouches for anything. */
#define GUARD_CALIBRATION_NS 100000000ULL

/* The index guard's .rodata (its only variable). */
struct guard_config {
	__u64 period_ns;
	__u64 fresh_ns;
	__u32 max_entries;
	__u32 pad;
};

/* Fingerprints: the wire length and 8-byte little-endian words from the
 * name's (or suffix's) first byte, bytes past its end counting as zero,
 * mixed with the constants below. Qnames: every word of the name; suffixes:
 * the first FP_WORDS words (a name can have 127 suffixes). */
#define FP_WORDS 4
#define FP_MAX_WORDS 32
#define FP_K0 0x9e3779b97f4a7c15ULL
#define FP_K1 0xc2b2ae3d27d4eb4fULL
#define FP_K2 0x165667b19e3779f9ULL

/* The XDP filter's .rodata (its only variable); ports in host order. */
#define MAX_DNS_PORTS 8

struct filter_config {
	__u16 dns_ports[MAX_DNS_PORTS];
	__u32 n_dns_ports;
};

/* Indexes of the XDP filter's per-CPU `xdp-stats` map. For each *_BASE,
 * +1 is the TC variant. */
enum xdp_stat {
	STAT_PASS = 0,		/* inspected, nothing matched */
	STAT_PASS_NOT_DNS,	/* not UDP/TCP to a DNS port, or not IP */
	STAT_ALLOW,		/* a PASS entry matched (allow-list) */
	STAT_ADDR_BASE,		/* dropped by an exact address */
	STAT_ADDR_TC,
	STAT_RANGE_BASE,	/* dropped by a range */
	STAT_RANGE_TC,
	STAT_QNAME_BASE,	/* dropped by a qname/qtype */
	STAT_QNAME_TC,
	STAT_SUFFIX_BASE,	/* dropped by a suffix */
	STAT_SUFFIX_TC,
	STAT_DROP_TCP_SYN,	/* TCP SYN from a blocked source */
	STAT_FRAGMENT,		/* a later fragment from an unblocked source */
	STAT_NOT_QUERY,		/* a response or other non-query: names not matched */
	STAT_PARSE_TRUNCATED,	/* headers cut short */
	STAT_PARSE_VLAN,	/* more than two VLAN tags */
	STAT_PARSE_EXTHDR,	/* IPv6 extension chain longer than we walk */
	STAT_PARSE_QNAME,	/* no complete uncompressed question */
	STAT_PARSE_HEADER,	/* IP version, IPv4 header/total length or UDP length inconsistent */
	STAT_MAX,
};

#endif
