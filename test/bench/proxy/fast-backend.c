// SPDX-License-Identifier: MIT
/*
 * A deliberately fast DNS backend for the proxy benchmark: answers every
 * query with one A record (192.0.2.1, TTL 300), over UDP (recvmmsg /
 * sendmmsg batches) and TCP (a thread per connection), so the backend is
 * never the bottleneck when dnsdist and dnsdist-ts are compared.
 *
 * usage: fast-backend PORT   (listens on 127.0.0.1)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define BUFSZ 4096

static const uint8_t answer_rr[] = {
	0xc0, 0x0c,		/* name: pointer to the question */
	0x00, 0x01, 0x00, 0x01, /* A, IN */
	0x00, 0x00, 0x01, 0x2c, /* TTL 300 */
	0x00, 0x04, 192, 0, 2, 1,
};

/* Turn the query in buf[0..len) into an answer in place; returns the new length or 0. */
static size_t make_answer(uint8_t *buf, size_t len)
{
	size_t off = 12;

	if (len < 12 || (buf[2] & 0x80) || buf[4] != 0 || buf[5] != 1)
		return 0;
	while (off < len && buf[off] != 0) {
		if (buf[off] & 0xc0)
			return 0;
		off += buf[off] + 1;
	}
	off += 1 + 4;
	if (off > len || off + sizeof(answer_rr) > BUFSZ)
		return 0;
	buf[2] = 0x84 | (buf[2] & 0x01); /* QR, AA, keep RD */
	buf[3] = 0x80;			  /* RA, NOERROR */
	buf[6] = 0;
	buf[7] = 1;			  /* ANCOUNT 1 */
	buf[8] = buf[9] = buf[10] = buf[11] = 0;
	memcpy(buf + off, answer_rr, sizeof(answer_rr));
	return off + sizeof(answer_rr);
}

static void *udp_loop(void *arg)
{
	int fd = *(int *)arg;
	static uint8_t bufs[BATCH][BUFSZ];
	struct mmsghdr msgs[BATCH];
	struct iovec iovs[BATCH];
	struct sockaddr_in addrs[BATCH];

	for (;;) {
		for (int i = 0; i < BATCH; i++) {
			iovs[i].iov_base = bufs[i];
			iovs[i].iov_len = BUFSZ;
			memset(&msgs[i], 0, sizeof(msgs[i]));
			msgs[i].msg_hdr.msg_iov = &iovs[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &addrs[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(addrs[i]);
		}
		int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0)
			continue;
		int out = 0;
		for (int i = 0; i < n; i++) {
			size_t alen = make_answer(bufs[i], msgs[i].msg_len);
			if (!alen)
				continue;
			iovs[i].iov_len = alen;
			if (out != i) {
				msgs[out] = msgs[i];
			}
			msgs[out].msg_hdr.msg_iov = &iovs[i];
			out++;
		}
		if (out > 0)
			sendmmsg(fd, msgs, out, 0);
	}
	return NULL;
}

static int read_full(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = read(fd, buf + got, len - got);
		if (r <= 0)
			return -1;
		got += r;
	}
	return 0;
}

static void *tcp_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	uint8_t buf[BUFSZ + 2];
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (;;) {
		if (read_full(fd, buf, 2))
			break;
		size_t len = (buf[0] << 8) | buf[1];
		if (len > BUFSZ - sizeof(answer_rr) || read_full(fd, buf + 2, len))
			break;
		size_t alen = make_answer(buf + 2, len);
		if (!alen)
			break;
		buf[0] = alen >> 8;
		buf[1] = alen & 0xff;
		if (write(fd, buf, alen + 2) != (ssize_t)(alen + 2))
			break;
	}
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int one = 1;
	pthread_t t;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PORT\n", argv[0]);
		return 2;
	}
	sa.sin_port = htons(atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	int ufd = socket(AF_INET, SOCK_DGRAM, 0);
	int tfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(tfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ufd, (struct sockaddr *)&sa, sizeof(sa)) || bind(tfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(tfd, 128)) {
		perror("bind");
		return 1;
	}
	pthread_create(&t, NULL, udp_loop, &ufd);
	printf("fast-backend ready on 127.0.0.1:%s\n", argv[1]);
	fflush(stdout);
	for (;;) {
		int c = accept(tfd, NULL, NULL);
		if (c < 0)
			continue;
		pthread_create(&t, NULL, tcp_conn, (void *)(intptr_t)c);
		pthread_detach(t);
	}
}
