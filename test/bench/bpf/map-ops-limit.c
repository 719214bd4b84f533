// SPDX-License-Identifier: GPL-2.0
/*
 * The limit for map-ops.bench.ts: the same map operations done by a plain
 * C loop on libbpf, so the JS figures can be read as ratios. Prints one
 * JSON object of ns per operation / per element.
 */
#include <bpf/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int new_map(uint32_t max)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "bench", 4, 8, max, NULL);

	if (fd < 0) {
		perror("bpf_map_create");
		exit(1);
	}
	return fd;
}

static double single_update(int n)
{
	int fd = new_map(n);
	uint64_t v = 1;
	double t0 = now_ns();

	for (uint32_t k = 0; k < (uint32_t)n; k++)
		bpf_map_update_elem(fd, &k, &v, BPF_ANY);
	double t = (now_ns() - t0) / n;
	close(fd);
	return t;
}

static double single_lookup(int n)
{
	int fd = new_map(n);
	uint64_t v = 1;

	for (uint32_t k = 0; k < (uint32_t)n; k++)
		bpf_map_update_elem(fd, &k, &v, BPF_ANY);
	double t0 = now_ns();
	for (uint32_t k = 0; k < (uint32_t)n; k++)
		bpf_map_lookup_elem(fd, &k, &v);
	double t = (now_ns() - t0) / n;
	close(fd);
	return t;
}

static double batch_update(int batch, int total)
{
	int fd = new_map(total);
	uint32_t *keys = malloc(sizeof(*keys) * total);
	uint64_t *vals = calloc(total, sizeof(*vals));

	for (int i = 0; i < total; i++)
		keys[i] = i;
	double t0 = now_ns();
	for (int off = 0; off < total; off += batch) {
		uint32_t n = batch;
		bpf_map_update_batch(fd, keys + off, vals + off, &n, NULL);
	}
	double t = (now_ns() - t0) / total;
	close(fd);
	free(keys);
	free(vals);
	return t;
}

static double dump(int total)
{
	int fd = new_map(total);
	uint32_t *keys = malloc(sizeof(*keys) * total);
	uint64_t *vals = calloc(total, sizeof(*vals));
	uint32_t n = total, in, out;

	for (int i = 0; i < total; i++)
		keys[i] = i;
	bpf_map_update_batch(fd, keys, vals, &n, NULL);
	double t0 = now_ns();
	size_t got = 0;
	void *inp = NULL;
	for (;;) {
		n = total - got;
		int r = bpf_map_lookup_batch(fd, inp, &out, keys + got, vals + got, &n, NULL);
		got += n;
		if (r)
			break;
		in = out;
		inp = &in;
	}
	double t = (now_ns() - t0) / total;
	close(fd);
	free(keys);
	free(vals);
	return t;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100000;

	printf("{\"singleUpdate\":%.1f,\"singleLookup\":%.1f,\"batchUpdate64\":%.1f,"
	       "\"batchUpdate1024\":%.1f,\"batchUpdate10000\":%.1f,\"dump\":%.1f}\n",
	       single_update(n), single_lookup(n), batch_update(64, n), batch_update(1024, n),
	       batch_update(10000, n), dump(n));
	return 0;
}
