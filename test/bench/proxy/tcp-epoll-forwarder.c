// SPDX-License-Identifier: MIT
/*
 * The floor of one event-loop thread for DNS over TCP: dnsdist-ts's TCP
 * shape (one thread, one epoll loop; each client connection's queries
 * answered one at a time, in order, as dnsdist's default; each backend
 * connection carrying one query at a time, idle ones reused) in C, so
 * nothing of Node, V8 or the proxy's logic is in the way. Set beside
 * dnsdist (TCP worker threads) it shows what one loop thread costs by
 * itself; beside node-tcp-floor.ts, what Node's sockets add.
 *
 * It also echoes UDP queries with QR set on the same port, only so that
 * the benchmark's readiness probe (a UDP query) sees it up.
 *
 * usage: tcp-epoll-forwarder LISTEN_PORT BACKEND_PORT   (127.0.0.1, IPv4 only)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FD 65536
#define BUF_SIZE 65538

enum kind { NONE, LISTENER, CLIENT, BACKEND, PROBE };

struct conn {
	enum kind kind;
	uint8_t in[BUF_SIZE];
	size_t have;
	int peer; /* client: the backend serving its query (-1: none); backend: its client */
	int busy; /* client: a query is being answered */
};

static struct conn *conns[MAX_FD];
static int ep, listener, probe;
static struct sockaddr_in backend_addr;
static int idle[1024], idle_count;

static void watch(int fd, enum kind kind)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	int one = 1;

	if (!conns[fd])
		conns[fd] = calloc(1, sizeof(struct conn));
	conns[fd]->kind = kind;
	conns[fd]->have = 0;
	conns[fd]->peer = -1;
	conns[fd]->busy = 0;
	if (kind == CLIENT || kind == BACKEND)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void drop(int fd)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	conns[fd]->kind = NONE;
}

static int backend_conn(void)
{
	int fd;

	if (idle_count > 0)
		return idle[--idle_count];
	fd = socket(AF_INET, SOCK_STREAM, 0);
	/* A blocking connect on loopback: rare once the pool is warm. */
	if (connect(fd, (struct sockaddr *)&backend_addr, sizeof(backend_addr)) < 0) {
		close(fd);
		return -1;
	}
	watch(fd, BACKEND);
	return fd;
}

/* Hand the client's next whole query, if any, to a backend. */
static void next_query(int fd)
{
	struct conn *c = conns[fd];
	size_t len;
	int b;

	if (c->busy || c->have < 2)
		return;
	len = 2 + ((c->in[0] << 8) | c->in[1]);
	if (c->have < len)
		return;
	b = backend_conn();
	if (b < 0) {
		drop(fd);
		return;
	}
	conns[b]->peer = fd;
	c->busy = 1;
	send(b, c->in, len, MSG_NOSIGNAL);
	memmove(c->in, c->in + len, c->have - len);
	c->have -= len;
}

static void answer(int b)
{
	struct conn *bc = conns[b];
	size_t len;
	int fd;

	while (bc->have >= 2) {
		len = 2 + ((bc->in[0] << 8) | bc->in[1]);
		if (bc->have < len)
			return;
		fd = bc->peer;
		bc->peer = -1;
		if (fd >= 0 && conns[fd]->kind == CLIENT) {
			send(fd, bc->in, len, MSG_NOSIGNAL);
			conns[fd]->busy = 0;
		}
		memmove(bc->in, bc->in + len, bc->have - len);
		bc->have -= len;
		if (idle_count < 1024)
			idle[idle_count++] = b;
		if (fd >= 0 && conns[fd]->kind == CLIENT)
			next_query(fd);
	}
}

static void readable(int fd)
{
	struct conn *c = conns[fd];
	ssize_t n;

	if (c->kind == PROBE) {
		struct sockaddr_in from;
		socklen_t len = sizeof(from);
		uint8_t q[512];

		n = recvfrom(probe, q, sizeof(q), MSG_DONTWAIT, (struct sockaddr *)&from, &len);
		if (n >= 12) {
			q[2] |= 0x80;
			sendto(probe, q, n, 0, (struct sockaddr *)&from, len);
		}
		return;
	}
	if (c->kind == LISTENER) {
		int cfd;

		while ((cfd = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0)
			watch(cfd, CLIENT);
		return;
	}
	n = recv(fd, c->in + c->have, BUF_SIZE - c->have, MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		drop(fd);
		return;
	}
	if (n < 0)
		return;
	c->have += n;
	if (c->kind == CLIENT)
		next_query(fd);
	else
		answer(fd);
}

int main(int argc, char **argv)
{
	struct sockaddr_in local = { .sin_family = AF_INET };
	struct epoll_event events[256];
	int one = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: %s LISTEN_PORT BACKEND_PORT\n", argv[0]);
		return 2;
	}
	local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	local.sin_port = htons(atoi(argv[1]));
	backend_addr = local;
	backend_addr.sin_port = htons(atoi(argv[2]));
	ep = epoll_create1(0);
	listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(listener, (struct sockaddr *)&local, sizeof(local)) < 0 || listen(listener, 511) < 0) {
		perror("listen");
		return 1;
	}
	watch(listener, LISTENER);
	probe = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (bind(probe, (struct sockaddr *)&local, sizeof(local)) < 0) {
		perror("bind udp");
		return 1;
	}
	watch(probe, PROBE);
	for (;;) {
		int n = epoll_wait(ep, events, 256, -1);

		for (int i = 0; i < n; i++)
			if (conns[events[i].data.fd]->kind != NONE)
				readable(events[i].data.fd);
	}
}
