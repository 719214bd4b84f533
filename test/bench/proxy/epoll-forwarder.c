// SPDX-License-Identifier: MIT
/*
 * The architecture's floor for the proxy benchmark: a UDP forwarder with
 * dnsdist-ts's shape (one thread, one epoll loop, a listening socket and a
 * connected backend socket, a query-ID remap) written in C, so nothing of
 * Node, V8 or the proxy's logic is in the way. Set beside dnsdist (a thread
 * per socket, blocking reads) it shows what one event-loop thread costs by
 * itself; set beside node-floor-forwarder.ts it shows what Node adds.
 *
 * usage: epoll-forwarder LISTEN_PORT BACKEND_PORT   (127.0.0.1, IPv4 only)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static int frontend, backend;

/* One slot per outgoing query ID: the client's address and its own ID. */
static struct {
	struct sockaddr_in client;
	uint8_t id[2];
} slots[65536];
static uint16_t next_id;

static void forward_query(void)
{
	uint8_t buf[4096];
	struct sockaddr_in client;
	socklen_t len = sizeof(client);
	ssize_t n;

	while ((n = recvfrom(frontend, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&client, &len)) >= 0) {
		if (n >= 12) {
			uint16_t id = next_id++;

			slots[id].client = client;
			memcpy(slots[id].id, buf, 2);
			buf[0] = id >> 8;
			buf[1] = id & 0xff;
			send(backend, buf, n, 0);
		}
		len = sizeof(client);
	}
}

static void return_answer(void)
{
	uint8_t buf[4096];
	ssize_t n;

	while ((n = recv(backend, buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
		if (n >= 12) {
			uint16_t id = (buf[0] << 8) | buf[1];

			memcpy(buf, slots[id].id, 2);
			sendto(frontend, buf, n, 0, (struct sockaddr *)&slots[id].client, sizeof(slots[id].client));
		}
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct epoll_event ev = { .events = EPOLLIN };
	int ep;

	if (argc != 3) {
		fprintf(stderr, "usage: %s LISTEN_PORT BACKEND_PORT\n", argv[0]);
		return 2;
	}
	frontend = socket(AF_INET, SOCK_DGRAM, 0);
	backend = socket(AF_INET, SOCK_DGRAM, 0);
	addr.sin_port = htons(atoi(argv[1]));
	if (bind(frontend, (struct sockaddr *)&addr, sizeof(addr))) {
		perror("bind");
		return 1;
	}
	addr.sin_port = htons(atoi(argv[2]));
	if (connect(backend, (struct sockaddr *)&addr, sizeof(addr))) {
		perror("connect");
		return 1;
	}
	ep = epoll_create1(0);
	ev.data.fd = frontend;
	epoll_ctl(ep, EPOLL_CTL_ADD, frontend, &ev);
	ev.data.fd = backend;
	epoll_ctl(ep, EPOLL_CTL_ADD, backend, &ev);
	for (;;) {
		struct epoll_event events[8];
		int n = epoll_wait(ep, events, 8, -1);

		for (int i = 0; i < n; i++) {
			if (events[i].data.fd == frontend)
				forward_query();
			else
				return_answer();
		}
	}
}
