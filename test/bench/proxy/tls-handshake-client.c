// SPDX-License-Identifier: MIT
/*
 * New-connection load for a DNS-over-TLS listener: THREADS threads, each
 * in a loop for SECONDS: connect, a full TLS handshake (no session
 * resumption: a fresh SSL object and no ticket kept), one query, its
 * answer read, close. Prints the completed exchanges per second and the
 * failures, for proxy.bench.ts's dot-handshakes row.
 *
 *   tls-handshake-client HOST PORT THREADS SECONDS
 *
 * Certificates are not checked: both proxies serve the same self-signed one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in target;
static SSL_CTX *ctx;
static double deadline;
static atomic_long done_count;
static atomic_long failed_count;

/* name.bench.test A IN, RD, ID 0x4242, behind its two-byte length. */
static const unsigned char query[] = {
	0, 33, 0x42, 0x42, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0,
	4, 'n', 'a', 'm', 'e', 5, 'b', 'e', 'n', 'c', 'h', 4, 't', 'e', 's', 't', 0,
	0, 1, 0, 1,
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int read_full(SSL *ssl, unsigned char *buf, int len)
{
	int got = 0;

	while (got < len) {
		int n = SSL_read(ssl, buf + got, len - got);

		if (n <= 0)
			return -1;
		got += n;
	}
	return 0;
}

static int one_exchange(void)
{
	unsigned char answer[4096];
	int fd, one = 1, ok = -1;
	SSL *ssl;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&target, sizeof(target)) < 0) {
		close(fd);
		return -1;
	}
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) == 1 && SSL_write(ssl, query, sizeof(query)) == (int)sizeof(query) &&
	    read_full(ssl, answer, 2) == 0) {
		int len = (answer[0] << 8) | answer[1];

		if (len >= 12 && len <= (int)sizeof(answer) && read_full(ssl, answer, len) == 0 &&
		    answer[0] == 0x42 && answer[1] == 0x42)
			ok = 0;
	}
	SSL_free(ssl);
	close(fd);
	return ok;
}

static void *run(void *arg)
{
	(void)arg;
	while (now() < deadline) {
		if (one_exchange() == 0)
			atomic_fetch_add(&done_count, 1);
		else
			atomic_fetch_add(&failed_count, 1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int threads, seconds, i;
	pthread_t *tids;
	double start;

	if (argc != 5) {
		fprintf(stderr, "usage: %s HOST PORT THREADS SECONDS\n", argv[0]);
		return 2;
	}
	memset(&target, 0, sizeof(target));
	target.sin_family = AF_INET;
	target.sin_port = htons(atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &target.sin_addr) != 1) {
		fprintf(stderr, "%s: not an IPv4 address\n", argv[1]);
		return 2;
	}
	threads = atoi(argv[3]);
	seconds = atoi(argv[4]);
	if (threads < 1 || seconds < 1) {
		fprintf(stderr, "THREADS and SECONDS must be positive\n");
		return 2;
	}
	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* A full handshake every time: no tickets asked for, no session cache. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	if (sizeof(query) != 2 + (size_t)((query[0] << 8) | query[1])) {
		fprintf(stderr, "the query's length prefix is wrong\n");
		return 2;
	}
	tids = calloc(threads, sizeof(*tids));
	start = now();
	deadline = start + seconds;
	for (i = 0; i < threads; i++)
		pthread_create(&tids[i], NULL, run, NULL);
	for (i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	printf("exchanges: %ld failed: %ld seconds: %.3f rate: %.1f\n", atomic_load(&done_count),
	       atomic_load(&failed_count), now() - start, atomic_load(&done_count) / (now() - start));
	return 0;
}
