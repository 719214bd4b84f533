// SPDX-License-Identifier: GPL-2.0
/*
 * Packet generator for test/bench/xdp/flood.bench.ts: sends one Ethernet
 * frame over and over out of an interface through an AF_PACKET socket
 * (qdisc bypassed), 64 frames per sendmmsg(2), for a number of seconds,
 * then prints "sent N ns T". Built by the benchmark with cc; run in the
 * generator's network namespace.
 *
 * usage: flood-gen IFNAME FRAME-FILE SECONDS
 */
#define _GNU_SOURCE /* sendmmsg */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static unsigned char frame[2048];
	struct mmsghdr msgs[BATCH];
	struct iovec iov;
	struct sockaddr_ll sll = { 0 };
	unsigned long long start, end, sent = 0;
	int fd, one = 1, i;
	size_t len;
	FILE *f;

	if (argc != 4) {
		fprintf(stderr, "usage: %s IFNAME FRAME-FILE SECONDS\n", argv[0]);
		return 2;
	}
	f = fopen(argv[2], "rb");
	if (!f) {
		perror(argv[2]);
		return 1;
	}
	len = fread(frame, 1, sizeof(frame), f);
	fclose(f);
	if (len < ETH_HLEN) {
		fprintf(stderr, "%s: a frame needs at least %d bytes\n", argv[2], ETH_HLEN);
		return 1;
	}
	fd = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: send only, never receive */
	if (fd < 0) {
		perror("socket(AF_PACKET)");
		return 1;
	}
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)))
		perror("PACKET_QDISC_BYPASS (continuing through the qdisc)");
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = if_nametoindex(argv[1]);
	sll.sll_halen = ETH_ALEN;
	memcpy(sll.sll_addr, frame, ETH_ALEN);
	if (!sll.sll_ifindex) {
		fprintf(stderr, "no interface %s\n", argv[1]);
		return 1;
	}
	iov.iov_base = frame;
	iov.iov_len = len;
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_name = &sll;
		msgs[i].msg_hdr.msg_namelen = sizeof(sll);
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	start = now_ns();
	end = start + (unsigned long long)(atof(argv[3]) * 1e9);
	for (;;) {
		int n = sendmmsg(fd, msgs, BATCH, 0);

		if (n < 0) {
			if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)
				continue;
			perror("sendmmsg");
			return 1;
		}
		sent += n;
		/* The clock is read once per batch: 64 frames between reads. */
		if (now_ns() >= end)
			break;
	}
	printf("sent %llu ns %llu\n", sent, now_ns() - start);
	close(fd);
	return 0;
}
