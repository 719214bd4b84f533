// SPDX-License-Identifier: GPL-2.0
/*
 * The name index guard: a BPF timer that keeps the XDP filter's name index
 * (`name-index`) covering entries written by processes that do not know
 * it (dnsdist itself, bpftool, any user of the bpf syscall).
 *
 * Every period it notes T (jiffies and CLOCK_MONOTONIC), walks `qnames`
 * and `suffixes` (bpf_for_each_map_elem) and sets the index slots of every
 * entry (a slot is only ever set to 1, never cleared). When a walk was
 * complete it writes "usable until T + fresh" for that part: every entry
 * present at T is marked by then, so an unmarked entry was written after
 * T and the program (index-guard.h) rules names out with that part only
 * until fresh has passed. A suffix entry whose value does not name its key
 * cannot be marked: the suffix part is then not vouched for.
 *
 * The timer lives in `guard_state`, which is never pinned: the kernel
 * cancels it when the last file descriptor of that map closes, i.e. when
 * the dnsdist-ts process that started it (the proxy or `xdp-filter
 * maintain`) exits, however it exits. Nothing then refreshes the index,
 * and within `fresh` the program looks every name up again.
 *
 * Started by running `index_guard_start` once (BPF_PROG_TEST_RUN); the
 * loader reuses the pinned maps (contrib/xdp-filter/src/index-guard.ts).
 * The fingerprints are the XDP program's (qname_fp / suffix_fp in
 * question.h, which this object cannot include: it would pin the
 * program's maps) and the loader's (name-fingerprint.ts).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xdp-filter.h"

#define CLOCK_MONOTONIC 1
#define EBUSY 16

/* Load-time configuration (the loader writes the section as this struct,
 * dnsdist-maps.h). */
const volatile struct guard_config gcfg = {
	.period_ns = GUARD_PERIOD_NS,
	.fresh_ns = GUARD_FRESH_NS,
	.max_entries = GUARD_MAX_ENTRIES,
};

/* The maps the XDP program reads (reused from their pins by the loader). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct qname_key);
	__type(value, struct map_value);
} qnamefilter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct suffix_key);
	__type(value, struct suffix_value);
} suffixfilter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NAME_INDEX_DEFAULT_ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
} nameindex SEC(".maps");

struct guard_state {
	struct bpf_timer timer;
	/* The first run's clocks, to measure a jiffy. */
	__u64 k0;
	__u64 j0;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct guard_state);
} guard_state SEC(".maps");

/* FORGET hides what the verifier knows of a value (its exact range on each
 * path out of a loop), so that the code after the loop is verified once
 * rather than once per exit; the mask keeps the bound it needs. It is
 * xdp-filter.h's BOUNDED, named for this use. */
#define FORGET(x, mask) BOUNDED(x, mask)

/* Where a walk marks (the callbacks' context: the same on every call). */
struct scan {
	__u32 base;	/* first fingerprint slot of the part */
	__u32 lengths;	/* first length slot of the part */
	__u32 mask;	/* slots - 1 */
};

/*
 * What a walk counts. Kept in .bss, not in the callbacks' context on the
 * stack: the verifier checks a callback until the stack it sees stops
 * changing, and a count there would have it walk the callback once per
 * value. The timer's callback never runs on two CPUs at once.
 */
struct scan_counts {
	__u32 entries;
	__u32 unverified;
	__u32 over_budget;
};

struct scan_counts qname_counts, suffix_counts;

static __always_inline __u64 index_word(__u32 k)
{
	__u64 *v = bpf_map_lookup_elem(&nameindex, &k);

	return v ? *v : 0;
}

static __always_inline void set_word(__u32 k, __u64 value)
{
	__u64 *v = bpf_map_lookup_elem(&nameindex, &k);

	if (v)
		*v = value;
}

/* Set a slot that is clear: a set slot is not written, so the cache line
 * every CPU's program reads stays shared. */
static __always_inline void mark(__u32 k)
{
	__u64 *v = bpf_map_lookup_elem(&nameindex, &k);

	if (v && !*v)
		*v = 1;
}

static __always_inline __u64 fp_word(__u64 h, __u64 x)
{
	h = (h ^ x) * FP_K1;
	return h ^ (h >> 31);
}

static __always_inline __u64 fp_mix(__u64 h)
{
	h *= FP_K2;
	return h ^ (h >> 32);
}

static __always_inline void mark_name(struct scan *sc, __u32 len, __u64 fp)
{
	mark(sc->lengths + (len & 0xff));
	mark(sc->base + ((__u32)fp & sc->mask));
	mark(sc->base + ((__u32)(fp >> 32) & sc->mask));
}

/*
 * A qname entry: its name's wire length by the XDP program's own walk
 * (parse_question), then the fingerprint of every word the name touches.
 * A key that walk rejects (a label over 63, no end within 255 bytes) can
 * never equal a key the program builds: nothing to mark. Bytes past the
 * name are zero in any key the program can match, as in its own key.
 */
static long mark_qname(void *map, struct qname_key *key, struct map_value *val, struct scan *sc)
{
	__u32 i, pos = 0, len, w, ended = 0;
	__u64 h;

	if (++qname_counts.entries > gcfg.max_entries) {
		qname_counts.over_budget = 1;
		return 1;
	}
	for (i = 0; i < MAX_LABELS; i++) {
		__u8 c;

		if (pos >= QNAME_BYTES)
			return 0;
		c = key->qname[FORGET(pos, 0xff)];
		if (c == 0) {
			ended = 1;
			break;
		}
		if (c > 63)
			return 0;
		pos += c + 1;
	}
	if (!ended)
		return 0;
	len = FORGET(pos + 1, 0xff) ?: 0x100; /* pos < 255: len is 1..255 */
	h = (__u64)len * FP_K0;
	for (w = 0; w < FP_MAX_WORDS; w++) {
		if (w * 8 >= len)
			break;
		h = fp_word(h, *(__u64 *)(key->qname + w * 8));
	}
	mark_name(sc, FORGET(len, 0xff), fp_mix(h));
	return 0;
}

/*
 * A suffix entry: the key is a hash, so the name comes from the value,
 * checked against the key (FNV-1a from the last byte backwards, as the
 * program hashes). A value that does not name its key leaves the entry
 * unmarkable: counted, and the suffix part is not vouched for.
 */
static long mark_suffix(void *map, struct suffix_key *key, struct suffix_value *val, struct scan *sc)
{
	__u32 len = key->len, k, w;
	__u64 h = FNV64_OFFSET;

	if (++suffix_counts.entries > gcfg.max_entries) {
		suffix_counts.over_budget = 1;
		return 1;
	}
	if (len == 0 || len > QNAME_BYTES)
		return 0; /* no suffix of a parsed name has this length */
	for (k = 0; k < QNAME_BYTES; k++) {
		if (k >= len)
			break;
		h = (h ^ val->name[(len - 1 - k) & 0xff]) * FNV64_PRIME;
	}
	if (h != key->hash) {
		suffix_counts.unverified++;
		return 0;
	}
	len = FORGET(len, 0xff);
	h = (__u64)len * FP_K0;
	for (w = 0; w < FP_WORDS; w++) {
		__u64 x = *(__u64 *)(val->name + w * 8);

		/* The program's key is zero past the name. */
		if (w * 8 >= len)
			x = 0;
		else if (len - w * 8 < 8)
			x &= (1ULL << ((len - w * 8) * 8)) - 1;
		h = fp_word(h, x);
	}
	mark_name(sc, FORGET(len, 0xff), fp_mix(h));
	return 0;
}

static int guard_tick(void *map, __u32 *key, struct guard_state *st)
{
	struct scan q = {}, s = {};
	__u64 k_start, j_start, slots, tick_ns = 0, until = 0, period = gcfg.period_ns, scan_ns = 0;
	__u32 first;

	k_start = bpf_ktime_get_ns();
	j_start = bpf_jiffies64();
	if (!st->k0) {
		st->k0 = k_start;
		st->j0 = j_start;
	}
	/* A jiffy measured against CLOCK_MONOTONIC since the first run; one
	 * jiffy fewer than counted, so a jiffy is never underestimated and
	 * "fresh" in jiffies never exceeds fresh. */
	if (k_start - st->k0 >= GUARD_CALIBRATION_NS && j_start > st->j0 + 1)
		tick_ns = (k_start - st->k0) / (j_start - st->j0 - 1);
	if (tick_ns)
		until = j_start + gcfg.fresh_ns / tick_ns;

	slots = index_word(NAME_INDEX_SLOTS);
	if (slots >= NAME_INDEX_MIN_SLOTS && slots <= NAME_INDEX_MAX_SLOTS && !(slots & (slots - 1))) {
		first = NAME_INDEX_FIRST_SLOT;
		q.mask = s.mask = slots - 1;
		q.base = first;
		s.base = first + slots;
		q.lengths = first + 2 * slots;
		s.lengths = first + 2 * slots + NAME_INDEX_LENGTHS;
		qname_counts = (struct scan_counts){};
		suffix_counts = (struct scan_counts){};
		bpf_for_each_map_elem(&qnamefilter, mark_qname, &q, 0);
		bpf_for_each_map_elem(&suffixfilter, mark_suffix, &s, 0);
		/* The slots are written before the words that vouch for them. */
		if (until && !qname_counts.over_budget) {
			set_word(NAME_INDEX_QNAMES_UNTIL, until);
			set_word(NAME_INDEX_QNAMES_SCANNED, k_start);
		}
		if (until && !suffix_counts.over_budget && !suffix_counts.unverified) {
			set_word(NAME_INDEX_SUFFIXES_UNTIL, until);
			set_word(NAME_INDEX_SUFFIXES_SCANNED, k_start);
		}
		scan_ns = bpf_ktime_get_ns() - k_start;
		/* A long scan stretches the period, so that scans never take more
		 * than 1/GUARD_CPU_SHARE of a CPU; the index then goes unvouched
		 * between scans that are further apart than fresh. */
		if (scan_ns * GUARD_CPU_SHARE > period)
			period = scan_ns * GUARD_CPU_SHARE;
		set_word(NAME_INDEX_SCAN_NS, scan_ns);
		set_word(NAME_INDEX_GUARD_PERIOD_NS, period);
		set_word(NAME_INDEX_SCAN_QNAMES, qname_counts.over_budget ? 0 : qname_counts.entries);
		set_word(NAME_INDEX_SCAN_SUFFIXES, suffix_counts.over_budget ? 0 : suffix_counts.entries);
		set_word(NAME_INDEX_SCAN_UNVERIFIED, suffix_counts.unverified);
		set_word(NAME_INDEX_GUARD_FRESH_NS, gcfg.fresh_ns);
		set_word(NAME_INDEX_GUARD_TICK_NS, tick_ns);
	}
	bpf_timer_start(&st->timer, period, 0);
	return 0;
}

/* Arm the timer (first run at once). Returns 0, or 1000 + the errno of the
 * step that failed (1000 + 1: no state). Running it again on a started
 * guard only restarts the period. */
SEC("xdp")
int index_guard_start(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct guard_state *st = bpf_map_lookup_elem(&guard_state, &zero);
	long r;

	if (!st)
		return 1001;
	r = bpf_timer_init(&st->timer, &guard_state, CLOCK_MONOTONIC);
	if (r && r != -EBUSY)
		return 1000 - r;
	r = bpf_timer_set_callback(&st->timer, guard_tick);
	if (r)
		return 1000 - r;
	r = bpf_timer_start(&st->timer, 0, 0);
	if (r)
		return 1000 - r;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
